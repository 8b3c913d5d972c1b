# Copy to instance/config.py. Every setting of projectflow/config.py can be set here;
# PROJECTFLOW_<NAME> environment variables override this file.

# ENV = "production"
# SECRET_KEY = "a random string of at least 32 characters"
# DATABASE_URL = "postgresql://projectflow@127.0.0.1/projectflow"
# MAIL_BACKEND = "smtp"
# MAIL_SERVER = "smtp.example.ac.uk"
# MAIL_PORT = 587
# MAIL_USE_STARTTLS = True
# RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379"

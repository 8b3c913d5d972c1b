"""Assessment: components, rubrics, mark sheets, agreement, moderation and release."""

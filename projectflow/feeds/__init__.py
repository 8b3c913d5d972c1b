"""Calendar feeds of deadlines (iCalendar), one secret address per person."""

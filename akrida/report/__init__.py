"""What a run leaves behind: its results folder and the summary read from Locust's statistics."""

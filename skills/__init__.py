"""The shared vocabulary of matching: channels, skills, proficiency and agent profiles."""

"""Ranking papers against interest profiles. Pure: no database, no settings, no network."""

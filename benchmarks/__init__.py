"""`make bench`: how cost grows with the data, as ratios measured side by side (issue 6)."""

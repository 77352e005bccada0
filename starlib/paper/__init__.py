"""Facts of the paper that every layer reads: its outputs, its training objectives, its reported numbers."""

"""Media: safe download, validation, content-addressed storage, perceptual hashes, screenshot OCR."""

-- OCR of chat-window screenshots, so extract can use it and re-runs never redo it.
CREATE TABLE IF NOT EXISTS screenshot_ocr (
    url         VARCHAR NOT NULL PRIMARY KEY,
    sha256      VARCHAR,
    is_chat     BOOLEAN NOT NULL,
    prompt      VARCHAR,
    boxes       JSON,
    lines       JSON,
    engine      VARCHAR NOT NULL,
    version     VARCHAR NOT NULL,
    run_id      VARCHAR,
    created_at  TIMESTAMPTZ
);
COMMENT ON TABLE screenshot_ocr IS 'Offline OCR of images that look like chat-window screenshots: the user''s prompt and the image regions.';
COMMENT ON COLUMN screenshot_ocr.url IS 'media.url of the screenshot';
COMMENT ON COLUMN screenshot_ocr.is_chat IS 'the OCR confirmed a chat layout (a user message was found)';
COMMENT ON COLUMN screenshot_ocr.prompt IS 'text of the user''s message bubble, lines joined in reading order, UI chrome removed';
COMMENT ON COLUMN screenshot_ocr.boxes IS '[{role: input|output, box: [left, top, right, bottom], url: crop media url}] in screenshot pixels';
COMMENT ON COLUMN screenshot_ocr.lines IS 'every recognised text line: [{text, box, score}]';
COMMENT ON COLUMN screenshot_ocr.engine IS 'OCR engine and its models, e.g. rapidocr-onnxruntime 1.4.4 PP-OCRv4';
COMMENT ON COLUMN screenshot_ocr.version IS 'version of the transcription rules; a new version re-transcribes';

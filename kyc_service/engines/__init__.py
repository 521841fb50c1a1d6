"""Self-hosted verification engines (issue 5).

Everything heavy (dlib, onnxruntime, OpenCV, zxing-cpp) is imported lazily inside the
engine modules, so importing this package or `kyc_service.engines.cli` stays cheap.

- `images`   : decode untrusted image bytes safely (EXIF, any mode, size limits)
- `faces`    : dlib face detection + ResNet embedding, calibrated similarity 0-100
- `ocr`      : RapidOCR (ONNX models bundled in the wheel), lines with boxes
- `licence/` : printed-text parser for US licence fronts (layout + value patterns)
- `barcode`  : PDF417 (zxing-cpp) and AAMVA parsing of licence backs
- `mrzread`  : passport / ID card machine-readable zone, check digits
- `analyze`  : combines the above into a Textract-AnalyzeID-shaped response
- `adapter`  : `SelfHostedProvider`, the `VerificationProvider` port over S3
- `cli`      : `compare-faces`, `analyze-id`
"""

"""Verification providers: the port (`port`: what the pipeline needs from a face and ID engine)
and the AWS adapter (`aws`: Rekognition and Textract). The self-hosted adapter lives in
kyc_service.engines and is registered by the local stack (chalicelib.services)."""

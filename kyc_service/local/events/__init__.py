"""Lambda event source emulation: one poller per event source (DynamoDB streams, SQS, S3) and their manager."""

"""The record store and the stage's tables and document objects: PynamoDB models, records, uploads."""

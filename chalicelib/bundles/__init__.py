"""Bundle intake (CONTRACT.md §3): `zipped/{tenant}/{app_uuid}.zip` in the document bucket becomes
a KYC record of that tenant, through the same validation and record store as the API.

A bundle is refused with a reason when anything about it is unsafe or wrong; a refused bundle
leaves no record and nothing under `unzipped/`: its reason goes to
`zipped/{tenant}/{app_uuid}.rejected.json` and to a log line without personal data.
archive.py reads the zip safely, images.py judges the images by their bytes, details.py maps
the CSV onto a submission, intake.py does the S3 side. docs/bundles.md has the rules.
"""

"""kyc-service: Chalice entry point. Routes and handlers only; the work is in chalicelib."""

from chalice import Chalice

from chalicelib.config import settings
from chalicelib.http import api, console, integrations, review
from chalicelib.logs import with_invocation_context
from chalicelib.stage import APP_NAME

app = Chalice(app_name=APP_NAME)
app.register_middleware(with_invocation_context, "all")
app.register_middleware(api.contract_errors, "http")
app.register_middleware(api.tenant_quota, "http")  # per-tenant quota: 429 beyond it (docs/deploy.md)

# The stage's resources the event handlers are wired to (chalicelib/stage.py names them).
# The KYC table's stream: deployments set KYC_STREAM_ARN (or the template wires it); the local
# stack polls the table's real stream whatever this says.
_STAGE = settings()
KYC_STREAM_ARN = _STAGE.stream_arn
BUNDLE_BUCKET = _STAGE.bucket
LICENSE_QUEUE = _STAGE.license_queue_name
LICENSE_DLQ = _STAGE.license_dlq_name
WEBHOOK_QUEUE = _STAGE.integrations.webhook_queue_name

TENANT = "/kyc/stage/{stage}/tenant/{tenant}"


@app.authorizer(ttl_seconds=300)
def jwt_auth(auth_request):
    return api.authorize(auth_request)


@app.route("/health", methods=["GET"])
@api.json_errors
def health():
    return api.health()


@app.route(TENANT + "/create_or_update", methods=["POST", "PUT"], authorizer=jwt_auth)
@api.json_errors
def create_or_update(stage, tenant):
    return api.create_or_update(app.current_request, stage, tenant)


@app.route(TENANT + "/email/{email}", methods=["GET"], authorizer=jwt_auth)
@api.json_errors
def get_records(stage, tenant, email):
    return api.get_records(app.current_request, stage, tenant, email)


@app.route(TENANT + "/liveness", methods=["POST"], authorizer=jwt_auth)
@api.json_errors
def create_liveness_session(stage, tenant):
    from chalicelib.http import liveness

    return liveness.create_session(app.current_request, stage, tenant)


@app.route(TENANT + "/email/{email}", methods=["DELETE"], authorizer=jwt_auth)
@api.json_errors
def erase_customer(stage, tenant, email):
    from chalicelib.http import privacy

    return privacy.erase(app.current_request, stage, tenant, email)


@app.route(TENANT + "/email/{email}/validate", methods=["POST"], authorizer=jwt_auth)
@api.json_errors
def validate(stage, tenant, email):
    return api.validate(app.current_request, stage, tenant, email)


@app.route(TENANT + "/documents", methods=["POST"], authorizer=jwt_auth)
@api.json_errors
def documents(stage, tenant):
    return api.documents(app.current_request, stage, tenant)


# -- review (admins of the tenant) and the review console (chalicelib/http/review.py, console.py) --


@app.route(TENANT + "/records", methods=["GET"], authorizer=jwt_auth)
@api.json_errors
def review_queue(stage, tenant):
    return review.list_records(app.current_request, stage, tenant)


@app.route(TENANT + "/email/{email}/events", methods=["GET"], authorizer=jwt_auth)
@api.json_errors
def audit_events(stage, tenant, email):
    return review.list_events(app.current_request, stage, tenant, email)


@app.route("/console", methods=["GET"])
@api.json_errors
def review_console():
    return console.page()


@app.route("/console/{name}", methods=["GET"])
@api.json_errors
def review_console_file(name):
    return console.asset(name)


# -- tenant integrations (admins of the tenant; chalicelib/http/integrations.py) --------


@app.route(TENANT + "/settings", methods=["GET", "PUT"], authorizer=jwt_auth)
@api.json_errors
def tenant_settings(stage, tenant):
    if app.current_request.method == "PUT":
        return integrations.put_settings(app.current_request, stage, tenant)
    return integrations.get_settings(app.current_request, stage, tenant)


@app.route(TENANT + "/webhooks", methods=["GET", "PUT", "DELETE"], authorizer=jwt_auth)
@api.json_errors
def webhooks(stage, tenant):
    request = app.current_request
    if request.method == "PUT":
        return integrations.put_webhook(request, stage, tenant)
    if request.method == "DELETE":
        return integrations.delete_webhook(request, stage, tenant)
    return integrations.get_webhook(request, stage, tenant)


@app.route(TENANT + "/webhooks/rotate", methods=["POST"], authorizer=jwt_auth)
@api.json_errors
def rotate_webhook(stage, tenant):
    return integrations.rotate_webhook(app.current_request, stage, tenant)


# -- stream handlers: one Lambda mapping each on the KYC table's stream ----------


@app.on_dynamodb_record(stream_arn=KYC_STREAM_ARN, batch_size=10, starting_position="TRIM_HORIZON")
def verify_records(event):
    from chalicelib.handlers import verifier

    return verifier.handle_batch(event)


@app.on_dynamodb_record(stream_arn=KYC_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON")
def update_identity(event):
    from chalicelib.handlers import identity

    return identity.handle_batch(event)


@app.on_dynamodb_record(stream_arn=KYC_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON")
def notify_decisions(event):
    from chalicelib.handlers import notifier

    return notifier.handle_batch(event)


# -- bundle intake and the licence check (CONTRACT.md §3; chalicelib/bundles/, handlers/licence.py) --


@app.on_s3_event(bucket=BUNDLE_BUCKET, prefix="zipped/", suffix=".zip", events=["s3:ObjectCreated:*"])
def intake_bundle(event):
    from chalicelib.handlers import bundle_intake

    bundle_intake.handle_event(event)


@app.on_sqs_message(queue=LICENSE_QUEUE, batch_size=5)
def check_license(event):
    from chalicelib.handlers import licence

    return licence.handle_batch(event)


@app.on_sqs_message(queue=LICENSE_DLQ, batch_size=5)
def license_check_failed(event):
    from chalicelib.handlers import licence

    return licence.handle_dead_letters(event)


# -- webhooks: every event of the topic, to the tenant's endpoint (chalicelib/handlers/webhooks.py) --


@app.on_sqs_message(queue=WEBHOOK_QUEUE, batch_size=10)
def deliver_webhooks(event):
    from chalicelib.handlers import webhooks as webhook_delivery

    return webhook_delivery.handle_batch(event)


@app.route("/mock/license-validator", methods=["POST"])
@api.json_errors
def mock_license_validator():
    return api.mock_license_validator(app.current_request)

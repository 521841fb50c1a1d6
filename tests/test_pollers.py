"""Event source emulation (kyc_service/local/events/) against an in-process moto server.

A small Chalice app lives in this module; its handlers record what they get and
fail on command. Everything is driven with prime()/poll_once()/drain(): no sleeps
and no timing assertions.
"""

from __future__ import annotations

import json
import sys
import urllib.parse

import boto3
import pytest
from chalice import Chalice

from kyc_service.local.events.lambda_events import WHOLE_BATCH, parse_batch_item_failures
from kyc_service.local.events.manager import EventSourceManager, EventSourceOptions

REGION = "us-east-1"
TABLE = "pollers_test_table"
QUEUE = "pollers-test-queue"
DLQ = "pollers-test-dlq"
FAILQ = "pollers-test-failures"
BUCKET = "pollers-test-bucket"
PLACEHOLDER_ARN = f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}/stream/placeholder"

app = Chalice(app_name="pollers-test")

# handler name -> list of events (dicts) received
SEEN: dict[str, list[dict]] = {}
# handler name -> callable(event dict) -> response (may raise)
BEHAVIOUR: dict[str, object] = {}
CONTEXTS: list[object] = []


def _handle(name, event):
    raw = event.to_dict()
    SEEN.setdefault(name, []).append(json.loads(json.dumps(raw)))
    CONTEXTS.append(event.context)
    behaviour = BEHAVIOUR.get(name)
    return behaviour(raw) if behaviour else None


@app.on_dynamodb_record(stream_arn=PLACEHOLDER_ARN, batch_size=3)
def stream_a(event):
    return _handle("stream_a", event)


@app.on_dynamodb_record(stream_arn=PLACEHOLDER_ARN, batch_size=100)
def stream_b(event):
    return _handle("stream_b", event)


@app.on_sqs_message(queue=QUEUE, batch_size=5)
def queue_handler(event):
    return _handle("queue_handler", event)


@app.on_s3_event(bucket=BUCKET, events=["s3:ObjectCreated:*"], prefix="zipped/")
def s3_handler(event):
    return _handle("s3_handler", event)


THIS = sys.modules[__name__]


@pytest.fixture(scope="module")
def aws():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    kw = {"endpoint_url": endpoint, "region_name": REGION, "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    ddb, sqs, s3 = (boto3.client(s, **kw) for s in ("dynamodb", "sqs", "s3"))
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dlq = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=QUEUE,
        Attributes={
            "VisibilityTimeout": "30",  # tests end the timeout early with expire_visibility()
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        },
    )["QueueUrl"]
    failq = sqs.create_queue(QueueName=FAILQ)["QueueUrl"]
    s3.create_bucket(Bucket=BUCKET)
    yield {"endpoint": endpoint, "ddb": ddb, "sqs": sqs, "s3": s3, "queue": queue, "dlq": dlq, "failq": failq}
    server.stop()


@pytest.fixture(autouse=True)
def _reset():
    SEEN.clear()
    BEHAVIOUR.clear()
    CONTEXTS.clear()
    yield


def options(aws, **kw) -> EventSourceOptions:
    return EventSourceOptions(endpoint=aws["endpoint"], region=REGION, stage="test", **kw)


def manager(aws, *handlers, **kw):
    kw.setdefault("failure_queue", FAILQ)
    mgr = EventSourceManager(THIS, options(aws, handlers=handlers, **kw))
    mgr.prime()  # LATEST iterators start here
    return mgr


def put(aws, pk, sk="s", **attrs):
    item = {"pk": {"S": pk}, "sk": {"S": sk}}
    item.update({k: {"S": v} if isinstance(v, str) else {"N": str(v)} for k, v in attrs.items()})
    aws["ddb"].put_item(TableName=TABLE, Item=item)


def records(name):
    return [r for ev in SEEN.get(name, []) for r in ev["Records"]]


def pks(name):
    return [(r["dynamodb"].get("NewImage") or r["dynamodb"]["OldImage"])["pk"]["S"] for r in records(name)]


def read_all(aws, url):
    out = []
    while True:
        got = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]) if m["Body"].startswith("{") else m["Body"])
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


# ----------------------------------------------------------------------------- streams


def test_discovers_handlers_and_stream(aws):
    mgr = EventSourceManager(THIS, options(aws, failure_queue=FAILQ))
    assert sorted((p.kind, p.name) for p in mgr.pollers) == [
        ("dynamodb", "stream_a"),
        ("dynamodb", "stream_b"),
        ("s3", "s3_handler"),
        ("sqs", "queue_handler"),
    ]
    a = mgr.poller("stream_a")
    assert a.table_name == TABLE and a.batch_size == 3
    other = EventSourceManager(THIS, options(aws, failure_queue=FAILQ, stream_table={"stream_b": "other"}))
    assert other.poller("stream_b").table_name == "other"
    a.prime()
    assert a.stream_arn == aws["ddb"].describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]


def test_stream_event_shape_insert_modify_remove(aws):
    mgr = manager(aws, "stream_b")
    put(aws, "shape", v=1)
    put(aws, "shape", v=2)
    aws["ddb"].delete_item(TableName=TABLE, Key={"pk": {"S": "shape"}, "sk": {"S": "s"}})
    assert mgr.drain() == 3
    recs = records("stream_b")
    assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY", "REMOVE"]
    arn = aws["ddb"].describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    for r in recs:
        assert set(r) >= {
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb",
            "eventSourceARN",
        }
        assert r["eventVersion"] == "1.1" and r["eventSource"] == "aws:dynamodb"
        assert r["awsRegion"] == REGION and r["eventSourceARN"] == arn
        d = r["dynamodb"]
        assert isinstance(d["ApproximateCreationDateTime"], (int, float))
        assert d["Keys"] == {"pk": {"S": "shape"}, "sk": {"S": "s"}}
        assert d["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(d["SizeBytes"], int) and d["SequenceNumber"].isdigit()
    ins, mod, rem = (r["dynamodb"] for r in recs)
    assert ins["NewImage"]["v"] == {"N": "1"} and "OldImage" not in ins
    assert mod["NewImage"]["v"] == {"N": "2"} and mod["OldImage"]["v"] == {"N": "1"}
    assert rem["OldImage"]["v"] == {"N": "2"} and "NewImage" not in rem
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in recs]
    assert seqs == sorted(seqs)


def test_stream_context_object(aws):
    mgr = manager(aws, "stream_b")
    put(aws, "ctx")
    mgr.drain()
    ctx = CONTEXTS[0]
    assert ctx.function_name == "pollers-test-test-stream_b"
    assert ctx.invoked_function_arn.endswith(":function:pollers-test-test-stream_b")
    assert ctx.aws_request_id and ctx.memory_limit_in_mb == 128
    assert ctx.get_remaining_time_in_millis() > 0


def test_stream_batch_size(aws):
    mgr = manager(aws, "stream_a")
    for i in range(7):
        put(aws, f"bs{i}")
    assert mgr.drain() == 7
    assert [len(ev["Records"]) for ev in SEEN["stream_a"]] == [3, 3, 1]
    assert pks("stream_a") == [f"bs{i}" for i in range(7)]


def test_stream_partial_failure_redelivers_from_first_failed(aws):
    failed_once = set()

    def fail_second_and_third_once(event):
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        names = [r["dynamodb"]["NewImage"]["pk"]["S"] for r in event["Records"]]
        out = []
        # report p2 and p1 out of order: the checkpoint is before the LOWEST one
        for target in ("p2", "p1"):
            if target in names and target not in failed_once:
                failed_once.add(target)
                out.append({"itemIdentifier": seqs[names.index(target)]})
        return {"batchItemFailures": out}

    BEHAVIOUR["stream_a"] = fail_second_and_third_once
    mgr = manager(aws, "stream_a")
    for i in range(5):
        put(aws, f"p{i}")
    mgr.drain()
    batches = [[r["dynamodb"]["NewImage"]["pk"]["S"] for r in ev["Records"]] for ev in SEEN["stream_a"]]
    # p0 succeeded and is not redelivered; p1 (first failed) and everything after it is
    assert batches[0] == ["p0", "p1", "p2"]
    assert batches[1][:2] == ["p1", "p2"]
    flat = [n for b in batches for n in b]
    assert flat.count("p0") == 1 and flat.count("p1") == 2 and flat.count("p2") == 2
    # per-shard order preserved: every batch ascending, and the last delivery ends with p4
    for ev in SEEN["stream_a"]:
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in ev["Records"]]
        assert seqs == sorted(seqs)
    assert flat[-1] == "p4"
    assert read_all(aws, aws["failq"]) == []


def test_stream_handler_raising_loses_nothing(aws):
    calls = {"n": 0}

    def raise_twice(event):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise RuntimeError("boom")

    BEHAVIOUR["stream_a"] = raise_twice
    mgr = manager(aws, "stream_a")
    for i in range(4):
        put(aws, f"r{i}")
    mgr.drain()
    batches = [[r["dynamodb"]["NewImage"]["pk"]["S"] for r in ev["Records"]] for ev in SEEN["stream_a"]]
    assert batches == [["r0", "r1", "r2"]] * 3 + [["r3"]]
    assert read_all(aws, aws["failq"]) == []


def test_stream_retry_limit_sends_failure_record_and_moves_on(aws):
    def poison(event):
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        bad = [
            s for r, s in zip(event["Records"], seqs, strict=True) if r["dynamodb"]["NewImage"]["pk"]["S"] == "poison"
        ]
        return {"batchItemFailures": [{"itemIdentifier": s} for s in bad]}

    BEHAVIOUR["stream_a"] = poison
    mgr = manager(aws, "stream_a", max_retries=2)
    put(aws, "ok0")
    put(aws, "poison")
    put(aws, "ok1")
    put(aws, "ok2")
    put(aws, "ok3")
    put(aws, "ok4")
    mgr.drain()
    names = pks("stream_a")
    # first batch + 2 retries of the batch that starts at the poison record
    assert names.count("poison") == 3
    assert names.count("ok0") == 1
    assert names[-1] == "ok4"  # processing moved on
    stream_arn = mgr.poller("stream_a").stream_arn
    [failure] = read_all(aws, aws["failq"])
    info = failure["DDBStreamBatchInfo"]
    poison_seq = next(
        r["dynamodb"]["SequenceNumber"] for r in records("stream_a") if r["dynamodb"]["NewImage"]["pk"]["S"] == "poison"
    )
    assert info["startSequenceNumber"] == poison_seq
    assert info["batchSize"] == 3 and info["streamArn"] == stream_arn
    assert info["shardId"].startswith("shardId-")
    assert {"approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord", "endSequenceNumber"} <= set(info)
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestContext"]["functionArn"].endswith("pollers-test-test-stream_a")
    assert failure["responseContext"]["statusCode"] == 200
    # records after the discarded batch are delivered
    assert "ok4" in names


def test_stream_raise_always_goes_to_failure_queue(aws):
    def always(event):
        raise ValueError("nope")

    BEHAVIOUR["stream_a"] = always
    mgr = manager(aws, "stream_a")  # default: 3 retries
    put(aws, "x0")
    mgr.drain()
    assert len(SEEN["stream_a"]) == 4
    [failure] = read_all(aws, aws["failq"])
    assert failure["responseContext"]["functionError"] == "Unhandled"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1


def test_stream_unknown_item_identifier_fails_whole_batch(aws):
    calls = {"n": 0}

    def bogus_once(event):
        calls["n"] += 1
        if calls["n"] == 1:
            return {"batchItemFailures": [{"itemIdentifier": "not-a-seq"}]}
        return {"batchItemFailures": []}

    BEHAVIOUR["stream_b"] = bogus_once
    mgr = manager(aws, "stream_b")
    put(aws, "u0")
    put(aws, "u1")
    mgr.drain()
    assert pks("stream_b") == ["u0", "u1", "u0", "u1"]


def test_two_stream_handlers_each_see_every_record(aws):
    BEHAVIOUR["stream_a"] = lambda ev: (
        (_ for _ in ()).throw(RuntimeError("a fails once")) if len(SEEN["stream_a"]) == 1 else None
    )
    mgr = manager(aws, "stream_a", "stream_b")
    for i in range(4):
        put(aws, f"two{i}")
    mgr.drain()
    assert pks("stream_b") == [f"two{i}" for i in range(4)]
    # stream_a retried its first batch without affecting stream_b's iterator
    assert pks("stream_a") == ["two0", "two1", "two2"] * 2 + ["two3"]


def test_parse_batch_item_failures_rules():
    ids = ["1", "2"]
    assert parse_batch_item_failures(None, ids) == set()
    assert parse_batch_item_failures({}, ids) == set()
    assert parse_batch_item_failures({"batchItemFailures": None}, ids) == set()
    assert parse_batch_item_failures({"batchItemFailures": []}, ids) == set()
    assert parse_batch_item_failures({"batchItemFailures": [{"itemIdentifier": "2"}]}, ids) == {"2"}
    for bad in ({"itemIdentifier": ""}, {"itemIdentifier": None}, {"id": "1"}, {"itemIdentifier": "3"}):
        assert parse_batch_item_failures({"batchItemFailures": [bad]}, ids) is WHOLE_BATCH


# ----------------------------------------------------------------------------- SQS


@pytest.fixture
def queues(aws):
    for url in (aws["queue"], aws["dlq"]):
        read_all(aws, url)  # (PurgeQueue is limited to once a minute)
    return aws


def expire_visibility(aws):
    """What the visibility timeout does with time: in-flight messages become visible."""
    for r in records("queue_handler"):
        try:
            aws["sqs"].change_message_visibility(
                QueueUrl=aws["queue"], ReceiptHandle=r["receiptHandle"], VisibilityTimeout=0
            )
        except aws["sqs"].exceptions.ClientError:
            pass  # deleted, or moved to the DLQ


def test_sqs_success_deletes(queues):
    aws = queues
    mgr = manager(aws, "queue_handler")
    sqs = aws["sqs"]
    for i in range(3):
        sqs.send_message(
            QueueUrl=aws["queue"],
            MessageBody=f"m{i}",
            MessageAttributes={"tenant": {"DataType": "String", "StringValue": "acme"}},
        )
    assert mgr.drain() == 3
    recs = records("queue_handler")
    assert sorted(r["body"] for r in recs) == ["m0", "m1", "m2"]
    r = recs[0]
    assert r["eventSource"] == "aws:sqs" and r["awsRegion"] == REGION
    assert r["eventSourceARN"].endswith(f":{QUEUE}")
    assert r["attributes"]["ApproximateReceiveCount"] == "1"
    assert r["messageAttributes"]["tenant"]["stringValue"] == "acme"
    assert r["messageAttributes"]["tenant"]["dataType"] == "String"
    assert {"messageId", "receiptHandle", "md5OfBody"} <= set(r)
    assert read_all(aws, aws["queue"]) == [] and read_all(aws, aws["dlq"]) == []


def test_sqs_failure_redelivers_then_dlq(queues):
    aws = queues

    def fail_bad(event):
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "bad"]
        }

    BEHAVIOUR["queue_handler"] = fail_bad
    mgr = manager(aws, "queue_handler")
    aws["sqs"].send_message(QueueUrl=aws["queue"], MessageBody="good")
    aws["sqs"].send_message(QueueUrl=aws["queue"], MessageBody="bad")
    mgr.drain()
    assert [r["body"] for r in records("queue_handler")].count("bad") == 1
    assert mgr.drain() == 0  # still invisible: no redelivery before the timeout
    for _ in range(5):
        expire_visibility(aws)
        mgr.drain()
    bodies = [r["body"] for r in records("queue_handler")]
    assert bodies.count("good") == 1
    assert bodies.count("bad") == 3  # maxReceiveCount 3, then moto moves it to the DLQ
    counts = [r["attributes"]["ApproximateReceiveCount"] for r in records("queue_handler") if r["body"] == "bad"]
    assert counts == ["1", "2", "3"]
    assert read_all(aws, aws["dlq"]) == ["bad"]
    assert read_all(aws, aws["queue"]) == []


def test_sqs_handler_raising_redelivers_whole_batch(queues):
    aws = queues
    calls = {"n": 0}

    def raise_once(event):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("down")

    BEHAVIOUR["queue_handler"] = raise_once
    mgr = manager(aws, "queue_handler")
    aws["sqs"].send_message(QueueUrl=aws["queue"], MessageBody="a")
    aws["sqs"].send_message(QueueUrl=aws["queue"], MessageBody="b")
    mgr.drain()
    expire_visibility(aws)
    mgr.drain()
    bodies = sorted(r["body"] for r in records("queue_handler"))
    assert bodies == ["a", "a", "b", "b"]
    assert read_all(aws, aws["queue"]) == [] and read_all(aws, aws["dlq"]) == []


# ----------------------------------------------------------------------------- S3


def test_s3_one_event_per_object_with_prefix_filter(aws):
    mgr = manager(aws, "s3_handler")
    s3 = aws["s3"]
    s3.put_object(Bucket=BUCKET, Key="zipped/acme/one.zip", Body=b"1")
    s3.put_object(Bucket=BUCKET, Key="zipped/acme/two words+plus.zip", Body=b"22")
    s3.put_object(Bucket=BUCKET, Key="other/acme/three.zip", Body=b"333")
    assert mgr.drain() == 2
    events = SEEN["s3_handler"]
    assert all(len(ev["Records"]) == 1 for ev in events)
    recs = [ev["Records"][0] for ev in events]
    keys = sorted(r["s3"]["object"]["key"] for r in recs)
    assert keys == ["zipped/acme/one.zip", "zipped/acme/two+words%2Bplus.zip"]
    assert sorted(urllib.parse.unquote_plus(k) for k in keys) == [
        "zipped/acme/one.zip",
        "zipped/acme/two words+plus.zip",
    ]
    r = recs[0]
    assert r["eventSource"] == "aws:s3" and r["eventName"] == "ObjectCreated:Put"
    assert r["s3"]["bucket"]["name"] == BUCKET
    assert r["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{BUCKET}"
    assert {"size", "eTag", "sequencer"} <= set(r["s3"]["object"])
    assert sorted(x["s3"]["object"]["size"] for x in recs) == [1, 2]
    assert mgr.drain() == 0  # exactly one delivery per object


def test_s3_retries_twice_then_gives_up(aws):
    attempts: dict[str, int] = {}

    def flaky(event):
        key = event["Records"][0]["s3"]["object"]["key"]
        attempts[key] = attempts.get(key, 0) + 1
        if key.endswith("always.zip") or attempts[key] == 1:
            raise RuntimeError("fail")

    BEHAVIOUR["s3_handler"] = flaky
    mgr = manager(aws, "s3_handler")
    aws["s3"].put_object(Bucket=BUCKET, Key="zipped/t/once.zip", Body=b"x")
    aws["s3"].put_object(Bucket=BUCKET, Key="zipped/t/always.zip", Body=b"x")
    mgr.drain()
    assert attempts == {"zipped/t/once.zip": 2, "zipped/t/always.zip": 3}
    assert mgr.poller("s3_handler").dropped == 1


# ----------------------------------------------------------------------------- threads


def test_start_and_stop_threads(aws):
    mgr = EventSourceManager(
        THIS, options(aws, failure_queue=FAILQ, handlers=("stream_b",), starting_position="TRIM_HORIZON")
    )
    mgr.start()
    assert mgr.running
    with pytest.raises(RuntimeError):
        mgr.poll_once()
    mgr.stop(timeout=10)
    assert not mgr.running


def test_threads_deliver_and_stop_promptly(aws):
    import threading

    mgr = EventSourceManager(
        THIS, options(aws, failure_queue=FAILQ, handlers=("stream_b", "s3_handler"), poll_interval=0.05)
    )
    mgr.prime()
    got = threading.Event()
    BEHAVIOUR["s3_handler"] = lambda ev: got.set()
    with mgr:
        put(aws, "threaded")
        aws["s3"].put_object(Bucket=BUCKET, Key="zipped/threaded.zip", Body=b"t")
        assert got.wait(20)
        for _ in range(200):
            if "threaded" in pks("stream_b"):
                break
            threading.Event().wait(0.05)
    assert not mgr.running
    assert pks("stream_b") == ["threaded"]


def test_missing_resources_are_waited_for(aws):
    mgr = EventSourceManager(
        THIS, options(aws, failure_queue=FAILQ, stream_table="no_such_table", handlers=("stream_a",))
    )
    assert mgr.drain() == 0
    assert mgr.poller("stream_a").stream_arn is None

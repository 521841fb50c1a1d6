"""What each Lambda function's code calls on AWS, read from the source (no import, no AWS).

The per-function IAM roles (`kyc_service/infra/iam.py: function_policy`) are built from this, so a
call added later (a new `chalicelib.aws.client("rekognition").index_faces(...)`, say) reaches the
role of exactly the functions whose code can run it, and the policy test (tests/test_iam.py)
fails until the checked-in policies are regenerated.

How: every module of `chalicelib/` and `app.py` is parsed. From a function's entry in app.py,
everything its code can reach is followed: names and attributes that resolve to functions and
classes of chalicelib (imports at any level, `module.name`, `Class.method`, `self.method`), and,
for calls on other objects (`obj.method()`), that method of every class already reached (rapid
type analysis: over-approximate, never under). The AWS calls found in what is reached:

* boto3 client calls, `client("svc").op(...)` or `<receiver>.op(...)` where the receiver is named
  after the service (`s3`, `sns`, `self.rekognition`, `ddb`, `idp`, ...: the code's convention;
  `unattributed_clients()` lists every `client("svc")` whose calls this cannot see, and a test
  keeps that list empty); paginators by their operation; presigned URLs and forms by the request
  they sign (the signer's role must allow it);
* PynamoDB model operations (`.get`, `.query`, `.save`, `.update`, `.delete`, `TransactWrite`'s
  `condition_check`) in modules that use PynamoDB models;
* Powertools' DynamoDB idempotency layer (get, put, update, delete of its items);
* s3:GetObject wherever Rekognition or Textract is called: they read the S3 images they are
  given with the caller's permissions.

Event sources need their own permissions (Lambda's pollers run with the function's role): a
stream handler reads the stream and sends failures to the failure queue, an SQS handler receives
and deletes on its queue. `event_sources()` reads them from app.py's decorators.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from chalicelib.stage import ROOT

SERVICE_NAMES = {  # receiver names (variables, attributes) that hold a client of a service
    "s3": "s3",
    "sns": "sns",
    "sqs": "sqs",
    "kms": "kms",
    "ssm": "ssm",
    "sts": "sts",
    "rekognition": "rekognition",
    "textract": "textract",
    "ddb": "dynamodb",
    "dynamodb": "dynamodb",
    "streams": "dynamodbstreams",
    "idp": "cognito-idp",
    "cognito": "cognito-idp",
}
IAM_PREFIX = {"dynamodbstreams": "dynamodb"}
SPECIAL = {  # boto3 method -> the IAM actions it needs
    ("s3", "generate_presigned_post"): ("s3:PutObject",),
    ("s3", "head_object"): ("s3:GetObject",),
    ("s3", "list_objects_v2"): ("s3:ListBucket",),
    ("s3", "list_objects"): ("s3:ListBucket",),
    ("s3", "list_object_versions"): ("s3:ListBucketVersions",),
    ("s3", "delete_objects"): ("s3:DeleteObject", "s3:DeleteObjectVersion"),
    ("s3", "copy_object"): ("s3:GetObject", "s3:PutObject"),
    ("dynamodb", "transact_write_items"): (
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    ),
    ("dynamodb", "transact_get_items"): ("dynamodb:GetItem",),
}
NOT_CALLS = {"get_paginator", "can_paginate", "get_waiter", "close", "exceptions", "meta", "paginate"}
PYNAMODB_OPS = {
    "get": "GetItem",
    "query": "Query",
    "save": "PutItem",
    "update": "UpdateItem",
    "delete": "DeleteItem",
    "scan": "Scan",
    "batch_get": "BatchGetItem",
    "batch_write": "BatchWriteItem",
    "refresh": "GetItem",
    "condition_check": "ConditionCheckItem",
    "exists": "DescribeTable",
    "describe_table": "DescribeTable",
}
# Rekognition and Textract read the S3Object images they are given with the caller's permissions
READS_S3_FOR_CALLER = ("rekognition:", "textract:")
POWERTOOLS_IDEMPOTENCY = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
DUNDERS = ("__init__", "__post_init__", "__enter__", "__exit__", "__call__", "__iter__", "__next__")


@dataclass
class Module:
    name: str
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)  # local name -> module or module.attr
    defs: dict[str, ast.AST] = field(default_factory=dict)  # qualname -> FunctionDef / ClassDef
    pynamodb: bool = False


@cache
def modules() -> dict[str, Module]:
    paths = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    out = {}
    for path in paths:
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__")
        out[name] = _module(name, path, path.name == "__init__.py")
    return out


def _module(name: str, path: Path, package: bool) -> Module:
    m = Module(name, ast.parse(path.read_text(encoding="utf-8")))
    base = name if package else name.rpartition(".")[0]
    for node in ast.walk(m.tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                m.imports[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            src = node.module or ""
            if node.level:
                src = ".".join(base.split(".")[: len(base.split(".")) - node.level + 1] + ([src] if src else []))
            for a in node.names:
                m.imports[a.asname or a.name] = f"{src}.{a.name}"
    # modules that work with PynamoDB models: the storage room, and whoever takes the tables or a
    # transaction (a model class imported only as a type annotation does not count)
    m.pynamodb = name.startswith("chalicelib.storage.") or any(
        v in ("chalicelib.storage.models.tables", "chalicelib.storage.models.plain")
        or v.startswith("pynamodb.transactions")
        for v in m.imports.values()
    )
    for node in m.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            m.defs[node.name] = node
        elif isinstance(node, ast.ClassDef):
            m.defs[node.name] = node
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    m.defs[f"{node.name}.{item.name}"] = item
    return m


def _target(dotted: str) -> tuple[str, str] | None:
    """A dotted name -> (module, qualname) of a chalicelib/app definition, or (module, "") for a module."""
    mods = modules()
    if dotted in mods:
        return dotted, ""
    head, _, tail = dotted.rpartition(".")
    while head:
        if head in mods and (not tail or tail in mods[head].defs):
            return head, tail
        if head in mods and tail.split(".")[0] in mods[head].imports:  # re-exported
            rest = tail.split(".", 1)
            return _target(mods[head].imports[rest[0]] + (f".{rest[1]}" if len(rest) > 1 else ""))
        head, _, more = head.rpartition(".")
        tail = f"{more}.{tail}"
    return None


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _service(recv: ast.AST) -> str | None:
    if isinstance(recv, ast.Call) and (_dotted(recv.func) or "").split(".")[-1] == "client" and recv.args:
        arg = recv.args[0]
        return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
    name = recv.attr if isinstance(recv, ast.Attribute) else recv.id if isinstance(recv, ast.Name) else None
    return SERVICE_NAMES.get(name.lstrip("_")) if name else None


def _client_actions(call: ast.Call) -> set[str]:
    if not isinstance(call.func, ast.Attribute):
        return set()
    service, op = _service(call.func.value), call.func.attr
    if service is None or (op in NOT_CALLS and op != "get_paginator"):
        return set()
    if op == "get_paginator" and call.args and isinstance(call.args[0], ast.Constant):
        op = call.args[0].value
    elif op in NOT_CALLS:
        return set()
    if op == "generate_presigned_url":
        signed = next((k.value for k in call.keywords if k.arg == "ClientMethod"), call.args[0] if call.args else None)
        op = signed.value if isinstance(signed, ast.Constant) else "get_object"
    if (service, op) in SPECIAL:
        return set(SPECIAL[(service, op)])
    operation = _operations(service).get(op)
    return {f"{IAM_PREFIX.get(service, service)}:{operation}"} if operation else set()


@cache
def _operations(service: str) -> dict[str, str]:
    """boto3 method name -> API operation of `service` (botocore's model: only real calls count)."""
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


@dataclass
class Reach:
    defs: set[tuple[str, str]] = field(default_factory=set)
    methods_called: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)
    read: set[str] = field(default_factory=set)  # attributes read by chalicelib code (settings().x): not app.py's


def _walk(mod: Module, qual: str, node: ast.AST, reach: Reach, todo: list[tuple[str, str]]) -> None:
    cls = qual.split(".")[0] if "." in qual else None

    def add(target: tuple[str, str] | None) -> None:
        if target and target not in reach.defs:
            reach.defs.add(target)
            todo.append(target)

    body = node.body if isinstance(node, ast.Module) else [node]
    for top in body:
        if isinstance(node, ast.Module) and _http_middleware(top):
            continue  # runs in the API handler only (lambda_functions)
        if isinstance(node, ast.Module) and isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for deco in top.decorator_list:  # decorators run at import
                _walk(mod, "", ast.Expression(deco), reach, todo)
            continue
        for sub in ast.walk(top):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                if sub.id in mod.defs:
                    add((mod.name, sub.id))
                elif sub.id in mod.imports:
                    add(_target(mod.imports[sub.id]))
                if mod.imports.get(sub.id, "").endswith("DynamoDBPersistenceLayer"):
                    reach.actions |= set(POWERTOOLS_IDEMPOTENCY)
            elif isinstance(sub, ast.Attribute):
                dotted = _dotted(sub)
                head = dotted.split(".")[0] if dotted else None
                if head in ("self", "cls") and cls:
                    add((mod.name, f"{cls}.{sub.attr}") if f"{cls}.{sub.attr}" in mod.defs else None)
                elif dotted and head in mod.imports:
                    add(_target(mod.imports[head] + dotted[len(head) :]))
                elif dotted and head in mod.defs:
                    add((mod.name, dotted) if dotted in mod.defs else None)
                reach.methods_called.add(sub.attr)
                if mod.name != "app":
                    reach.read.add(sub.attr)
            if isinstance(sub, ast.Call):
                reach.actions |= _client_actions(sub)
                model_call = isinstance(sub.func, ast.Attribute) and sub.func.attr in PYNAMODB_OPS
                if mod.pynamodb and model_call and _service(sub.func.value) is None:
                    reach.actions.add(f"dynamodb:{PYNAMODB_OPS[sub.func.attr]}")


def reach(entries: list[tuple[str, str]]) -> Reach:
    """Everything the code from `entries` ((module, qualname)) can reach, and its AWS actions."""
    mods, r = modules(), Reach()
    todo = list(entries)
    r.defs.update(entries)
    seen_modules: set[str] = set()
    while todo:
        module, qual = todo.pop()
        mod = mods[module]
        if module not in seen_modules:  # importing a module runs its top level
            seen_modules.add(module)
            _walk(mod, "", mod.tree, r, todo)
            parent = module.rpartition(".")[0]
            while parent:
                if parent in mods and parent not in seen_modules:
                    todo.append((parent, ""))
                parent = parent.rpartition(".")[0]
        if not qual:
            continue
        node = mod.defs[qual]
        if isinstance(node, ast.ClassDef):
            for name in (*DUNDERS, *r.methods_called):
                if f"{qual}.{name}" in mod.defs and (module, f"{qual}.{name}") not in r.defs:
                    r.defs.add((module, f"{qual}.{name}"))
                    todo.append((module, f"{qual}.{name}"))
            for base in node.bases:
                _walk(mod, qual, base, r, todo)
            continue
        _walk(mod, qual, node, r, todo)
        if not todo:  # methods called on objects of classes reached since
            for m, q in list(r.defs):
                if isinstance(mods[m].defs.get(q), ast.ClassDef):
                    for name in r.methods_called:
                        if f"{q}.{name}" in mods[m].defs and (m, f"{q}.{name}") not in r.defs:
                            r.defs.add((m, f"{q}.{name}"))
                            todo.append((m, f"{q}.{name}"))
    if any(a.startswith(READS_S3_FOR_CALLER) for a in r.actions):
        r.actions.add("s3:GetObject")
    return r


def _http_middleware(stmt: ast.stmt) -> ast.expr | None:
    """`app.register_middleware(func, "http")`: func, which runs for the routes only."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "register_middleware":
        kind = call.args[1] if len(call.args) > 1 else None
        if isinstance(kind, ast.Constant) and kind.value == "http":
            return call.args[0]
    return None


def _decorator(fn: ast.FunctionDef) -> tuple[str, ast.Call] | None:
    for deco in fn.decorator_list:
        if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute):
            return deco.func.attr, deco
    return None


def lambda_functions() -> dict[str, list[tuple[str, str]]]:
    """Chalice function name -> its entries in app.py: `api_handler` is every route, the others one each."""
    app = modules()["app"]
    out: dict[str, list[tuple[str, str]]] = {"api_handler": []}
    for node in app.tree.body:
        middleware = _http_middleware(node)
        dotted = _dotted(middleware) if middleware is not None else None
        if dotted:
            head = dotted.split(".")[0]
            target = _target(app.imports[head] + dotted[len(head) :]) if head in app.imports else ("app", dotted)
            out["api_handler"].append(target or ("app", dotted))
        if isinstance(node, ast.FunctionDef) and (kind := _decorator(node)):
            if kind[0] == "route":
                out["api_handler"].append(("app", node.name))
            else:
                out[node.name] = [("app", node.name)]
    return out


def event_sources() -> dict[str, tuple[str, str | None]]:
    """Chalice function name -> (kind, what): ("stream", None), ("sqs", the queue's setting), ("s3", None)."""
    app = modules()["app"]
    out: dict[str, tuple[str, str | None]] = {}
    for node in app.tree.body:
        if isinstance(node, ast.FunctionDef) and (kind := _decorator(node)):
            if kind[0] == "on_dynamodb_record":
                out[node.name] = ("stream", None)
            elif kind[0] == "on_sqs_message":
                queue = next(k.value for k in kind[1].keywords if k.arg == "queue")
                out[node.name] = ("sqs", _dotted(queue))
            elif kind[0] == "on_s3_event":
                out[node.name] = ("s3", None)
    return out


@cache
def function_reach() -> dict[str, Reach]:
    """Chalice function name -> what its code reaches (its AWS actions, the attributes it reads)."""
    return {name: reach(entries) for name, entries in lambda_functions().items()}


def function_actions() -> dict[str, set[str]]:
    """Chalice function name -> the AWS actions its code calls."""
    return {name: set(r.actions) for name, r in function_reach().items()}


def unattributed_clients() -> list[str]:
    """`client("svc")` calls whose result is neither called at once nor kept under the service's name."""
    out = []
    for mod in modules().values():
        parents = {child: parent for parent in ast.walk(mod.tree) for child in ast.iter_child_nodes(parent)}
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Call) and _service(node) and (_dotted(node.func) or "").endswith("client"):
                parent = parents.get(node)
                if isinstance(parent, ast.Attribute | ast.Return):
                    continue
                # boto3_client=: Powertools' idempotency layer, whose calls POWERTOOLS_IDEMPOTENCY counts
                if _bound_name(parent, node, parents) not in (*SERVICE_NAMES, "boto3_client"):
                    out.append(f"{mod.name}:{node.lineno}")
    return out


def _bound_name(parent: ast.AST | None, node: ast.AST, parents: dict[ast.AST, ast.AST]) -> str | None:
    """The name a client is kept under: `name = client(...)`, `a, name = x, client(...)`, `name=client(...)`."""
    if isinstance(parent, ast.keyword):
        return parent.arg
    if isinstance(parent, ast.Tuple) and isinstance(parents.get(parent), ast.Assign):
        assign = parents[parent]
        target = assign.targets[0]
        if isinstance(target, ast.Tuple) and len(target.elts) == len(parent.elts):
            target = target.elts[parent.elts.index(node)]
            return getattr(target, "id", None) or getattr(target, "attr", None)
        return None
    if isinstance(parent, ast.Assign):
        target = parent.targets[0]
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
        return name.lstrip("_") if name else None
    return None

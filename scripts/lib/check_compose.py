"""Checks the Compose files in the repository root (docker-compose*.yml) without Docker.

1. Each file is valid against the Compose Specification's JSON schema (deploy/compose-spec.json,
   vendored; see deploy/README.md). An override file (any file but docker-compose.yml) is
   checked alone and merged onto docker-compose.yml, as `docker compose -f docker-compose.yml
   -f OVERRIDE` would see it.
2. Every variable the files pass to Confab is documented in .env.example (a line `VAR=` or
   `# VAR=`): the keys under `environment:` of the Confab services, and every `${VAR}` / `$VAR`
   interpolated anywhere in the files.

Run by scripts/lib/check-compose.sh, which provides jsonschema and PyYAML. Exits 1 with one line
per problem, naming the file and the path in it.
"""

import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml
from jsonschema.exceptions import best_match

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "deploy" / "compose-spec.json"
ENV_EXAMPLE = ROOT / ".env.example"
BASE = "docker-compose.yml"

# Variables the compose files may use without documenting them in .env.example, because they
# configure Compose or the other containers, not Confab. Each with its reason. None so far.
COMPOSE_ONLY: dict[str, str] = {}

# The services that run Confab: built from this repository, or named confab / confab-N.
CONFAB_NAME = re.compile(r"^confab([-_].*)?$")


# ---------------------------------------------------------------------------
# Loading: YAML with Compose's `!reset` and `!override` tags, duplicate keys refused
# ---------------------------------------------------------------------------


class Reset:
    """`!reset`: removes the attribute from the merged model."""


RESET = Reset()


class Override:
    """`!override VALUE`: replaces the attribute instead of merging into it."""

    def __init__(self, value):
        self.value = value


class Loader(yaml.SafeLoader):
    """Safe loader that, like Compose (go-yaml), refuses a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _construct_reset(loader, node):
    return RESET


def _construct_override(loader, node):
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    return Override(loader.construct_scalar(node))


Loader.add_constructor("!reset", _construct_reset)
Loader.add_constructor("!override", _construct_override)


def load(path: Path):
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=Loader)


def plain(value):
    """The file as Compose reads it alone: `!reset` entries dropped, `!override` unwrapped."""
    if isinstance(value, Override):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not RESET}
    if isinstance(value, list):
        return [plain(v) for v in value if v is not RESET]
    return value


# Attributes whose value an override replaces rather than appends to (the Compose
# Specification's merge rules, "Shell commands").
REPLACED = {("command",), ("entrypoint",), ("healthcheck", "test")}


def merge(base, override, path=()):
    """A simple deep merge, close to the Compose Specification's merge rules: mappings merge key
    by key, sequences append the override's items that are not already there (Compose also
    de-duplicates ports, volumes… by their own keys, which does not matter for validation),
    command / entrypoint / healthcheck.test and scalars are replaced, `!reset` removes and
    `!override` replaces. Compose's interpolation, `extends` and `include` are not applied."""
    if isinstance(override, Override):
        return plain(override.value)
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if value is RESET:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = merge(merged[key], value, path + (key,))
            else:
                merged[key] = plain(value)
        return merged
    service_path = path[2:] if path[:1] == ("services",) else None
    if isinstance(base, list) and isinstance(override, list) and service_path not in REPLACED:
        return base + [item for item in plain(override) if item not in base]
    return plain(override)


# ---------------------------------------------------------------------------
# 1. The schema
# ---------------------------------------------------------------------------


def dotted(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def schema_problems(validator, document, what: str) -> list[str]:
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
        # For a oneOf / anyOf, name the alternative that came closest.
        detail = best_match([error]) if error.context else error
        message = detail.message
        if detail.validator == "additionalProperties" and isinstance(detail.instance, dict):
            known = set(detail.schema.get("properties", {}))
            unknown = [k for k in detail.instance if k not in known and not str(k).startswith("x-")]
            message = (f"unknown key(s) {', '.join(map(repr, unknown))} (the Compose "
                       "Specification allows only its own keys and x-… extensions here)")
        problems.append(f"{what}: {dotted(detail.absolute_path)}: {message}")
    return problems


# ---------------------------------------------------------------------------
# 2. The variables
# ---------------------------------------------------------------------------

# $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR:+alt}…; `$$` is a literal $.
INTERPOLATION = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")
DOCUMENTED = re.compile(r"^#?\s*([A-Za-z_][A-Za-z0-9_]*)=", re.MULTILINE)


def strings(value, path=()):
    """Every string in the document (keys and values) with its path."""
    if isinstance(value, Override):
        yield from strings(value.value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield path + (key,), key
            yield from strings(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, path + (index,))
    elif isinstance(value, str):
        yield path, value


def is_confab(name: str, service) -> bool:
    if CONFAB_NAME.match(name):
        return True
    build = service.get("build") if isinstance(service, dict) else None
    context = build.get("context") if isinstance(build, dict) else build
    return isinstance(context, str) and context.rstrip("/") in (".", "./")


def passed_variables(document) -> dict[str, str]:
    """Variable → where the file passes it (the first place)."""
    found: dict[str, str] = {}
    services = document.get("services") if isinstance(document, dict) else None
    for name, service in (services or {}).items():
        service = plain(service)
        if not isinstance(service, dict) or not is_confab(name, service):
            continue
        environment = service.get("environment") or {}
        if isinstance(environment, list):  # ["KEY=value", "KEY"]
            keys = [entry.split("=", 1)[0] for entry in environment if isinstance(entry, str)]
        else:
            keys = list(environment)
        for key in keys:
            found.setdefault(key, f"services.{name}.environment.{key}")
    for path, text in strings(document):
        for match in INTERPOLATION.finditer(text):
            variable = match.group(1) or match.group(2)
            if variable:
                found.setdefault(variable, f"{dotted(path)} (interpolated)")
    return found


# ---------------------------------------------------------------------------


def main() -> int:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    documented = set(DOCUMENTED.findall(ENV_EXAMPLE.read_text(encoding="utf-8")))

    files = sorted(
        p
        for pattern in ("docker-compose*.yml", "docker-compose*.yaml", "compose*.yml", "compose*.yaml")
        for p in ROOT.glob(pattern)
    )
    if not (ROOT / BASE).exists():
        print(f"check-compose: {BASE} is missing", file=sys.stderr)
        return 1

    problems: list[str] = []
    documents = {}
    for path in files:
        try:
            documents[path.name] = load(path)
        except yaml.YAMLError as error:
            problems.append(f"{path.name}: not valid YAML: {error}")

    base = plain(documents.get(BASE))
    for name, document in documents.items():
        if not isinstance(document, dict):
            problems.append(f"{name}: (top level): not a mapping")
            continue
        problems += schema_problems(validator, plain(document), name)
        if name != BASE and isinstance(base, dict):
            merged = merge(base, document)
            problems += schema_problems(validator, merged, f"{BASE} + {name} (merged)")
        for variable, where in sorted(passed_variables(document).items()):
            if variable not in documented and variable not in COMPOSE_ONLY:
                problems.append(
                    f"{name}: {where}: {variable} is not documented in .env.example "
                    f"(add a commented `# {variable}=` line with what it does and its default, "
                    "or list it in COMPOSE_ONLY in scripts/lib/check_compose.py with a reason)"
                )

    for problem in problems:
        print(f"check-compose: {problem}", file=sys.stderr)
    if problems:
        print(f"check-compose: {len(problems)} problem(s) in the Compose files", file=sys.stderr)
        return 1
    print(f"check-compose: {', '.join(documents)} valid; every variable they pass is documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())

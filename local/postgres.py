"""A throwaway PostgreSQL server for tests, the local backend and the DR drills.

`LocalPostgres(directory).start()` runs the machine's own `initdb`/`pg_ctl` to create a
cluster in `directory`, listening on a free loopback port with its unix socket inside the
data directory, tuned for speed (`fsync=off`), and `stop()` shuts it down with
`pg_ctl stop -m immediate`. It works as root: `initdb` refuses to run as root, so when the
effective uid is 0 every server command runs through `runuser -u postgres --` and the
directory is handed to that user.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SERVER_USER = "postgres"


class PostgresNotFoundError(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path:
    """Locate `initdb`/`pg_ctl`: `$PG_BIN`, the highest `/usr/lib/postgresql/*/bin`, then PATH."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))

    def version_key(path: str) -> tuple[int, ...]:
        match = re.search(r"/postgresql/([\d.]+)/bin", path)
        return tuple(int(p) for p in match.group(1).split(".")) if match else (0,)

    candidates += [
        Path(p)
        for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True)
    ]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise PostgresNotFoundError(
        "PostgreSQL server binaries not found: set PG_BIN, or run `make postgres` "
        "(apt-get install postgresql)"
    )


def _reachable_by_server(directory: Path) -> bool:
    """Whether the server user can traverse every ancestor of ``directory``."""
    existing = directory
    while not existing.exists():
        existing = existing.parent
    probe = ["runuser", "-u", SERVER_USER, "--", "test", "-x", str(existing)]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0  # noqa: S603


def free_port() -> int:
    """A TCP port that is free on loopback right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_self_signed(certificate: Path, key: Path) -> None:
    """A P-256 key and a one-year self-signed certificate for 127.0.0.1/localhost (0600 key,
    as PostgreSQL demands)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(private, hashes.SHA256())
    )
    certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)


@dataclass
class LocalPostgres:
    """One throwaway cluster in `directory`; superuser `postgres`, trust auth on loopback only."""

    directory: Path
    port: int = 0
    bin_dir: Path | None = None
    superuser: str = SERVER_USER
    # TCP logins use SCRAM so password handling (rotation, stale secrets) is real; the unix
    # socket inside the data dir stays `trust` for the server's own tools.
    password: str = "postgres"  # noqa: S105 - throwaway loopback-only cluster
    # Extra loopback addresses let tests address one server as two "endpoints".
    listen_addresses: tuple[str, ...] = ("127.0.0.1",)
    # TLS with a throwaway self-signed certificate (clients use sslmode=require, which
    # encrypts without verifying, as the functions do towards RDS Proxy).
    tls: bool = False
    # pg_hba.conf lines placed before initdb's own (first match wins), e.g. the logins that
    # stand for IAM authentication through RDS Proxy (local.backend).
    hba: tuple[str, ...] = ()
    # Commits reach the WAL before they return. Off (the default) is faster, and the last
    # ~0.6 s of commits die with an immediate stop; the local backend turns it on because its
    # drills stop the server like a lost writer and expect what was committed to be there.
    synchronous_commit: bool = False
    _running: bool = field(default=False, init=False, repr=False)
    _owns_directory: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory).resolve()
        self.bin_dir = self.bin_dir or find_bin_dir()
        self.port = self.port or free_port()
        if os.geteuid() == 0 and not _reachable_by_server(self.directory):
            # As root the server runs as `postgres`, which cannot enter e.g. /root/<clone> or
            # pytest's 0700 temp root: keep the cluster in a fresh /tmp directory instead.
            self.directory = Path(tempfile.mkdtemp(prefix="mobile-backend-pg-"))
            self._owns_directory = True

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def host(self) -> str:
        return self.listen_addresses[0]

    def conninfo(self, dbname: str = "postgres", user: str | None = None) -> str:
        """A libpq connection string for `dbname` over loopback TCP."""
        return (
            f"host={self.host} port={self.port} dbname={dbname} "
            f"user={user or self.superuser} password={self.password} "
            "sslmode=disable connect_timeout=3"
        )

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            # initdb refuses root; the server must run as an unprivileged owner of the data dir.
            cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True)  # noqa: S603

    def _chown(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, SERVER_USER, SERVER_USER)
            for root, dirs, files in os.walk(self.directory):
                for name in dirs + files:
                    shutil.chown(os.path.join(root, name), SERVER_USER, SERVER_USER)

    def start(self) -> LocalPostgres:
        """Create the cluster if needed and start the server; returns self once it accepts work."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._chown()
        if not (self.data_dir / "PG_VERSION").exists():
            pwfile = self.directory / "pwfile"
            pwfile.write_text(self.password + "\n")
            self._chown()
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.superuser,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
            pwfile.unlink()
        self._configure_access()
        settings = [
            f"-p {self.port}",
            f"-c listen_addresses={','.join(self.listen_addresses)}",
            f"-c unix_socket_directories={self.data_dir}",
            "-c fsync=off",
            f"-c synchronous_commit={'on' if self.synchronous_commit else 'off'}",
            "-c full_page_writes=off",
            "-c max_connections=100",
        ]
        if self.tls:
            settings += [
                "-c ssl=on",
                f"-c ssl_cert_file={self.directory / 'server.crt'}",
                f"-c ssl_key_file={self.directory / 'server.key'}",
            ]
        options = " ".join(settings)
        try:
            self._run(
                "pg_ctl",
                "start",
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                "30",
                "-l",
                str(self.directory / "server.log"),
                "-o",
                options,
            )
        except subprocess.CalledProcessError as exc:
            log = self.directory / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {exc.stderr}\n{tail}") from exc
        self._running = True
        self._wait_ready()
        return self

    def _configure_access(self) -> None:
        if self.tls and not (self.directory / "server.key").exists():
            write_self_signed(self.directory / "server.crt", self.directory / "server.key")
        hba = self.data_dir / "pg_hba.conf"
        initdb_rules = self.data_dir / "pg_hba.initdb.conf"
        if not initdb_rules.exists():
            shutil.copy(hba, initdb_rules)
        ours = "".join(f"{line}\n" for line in self.hba)
        hba.write_text(ours + initdb_rules.read_text())
        self._chown()

    def reload(self) -> None:
        """Apply changed ``hba`` lines to the running server (pg_ctl reload)."""
        self._configure_access()
        self._run("pg_ctl", "reload", "-D", str(self.data_dir))

    @classmethod
    def replica_of(
        cls, primary: LocalPostgres, directory: Path, listen_address: str, port: int | None = None
    ) -> LocalPostgres:
        """A streaming hot standby of `primary` (read-only, `pg_is_in_recovery()` is true).

        Listening on another loopback address with the primary's port lets tests treat the two
        servers like the read/write and read-only endpoints of one cluster.
        """
        replica = cls(
            directory,
            port=port or primary.port,
            bin_dir=primary.bin_dir,
            superuser=primary.superuser,
            password=primary.password,
            listen_addresses=(listen_address,),
        )
        replica.directory.mkdir(parents=True, exist_ok=True)
        replica._chown()
        replica._run(
            "pg_basebackup",
            "-D",
            str(replica.data_dir),
            "-d",
            primary.conninfo().replace("connect_timeout=3", "connect_timeout=10"),
            "-R",
            "-X",
            "stream",
            "--no-sync",
        )
        # The primary's unix-socket lock file lives in its data dir and was copied along; left
        # there it names the primary's live pid and the standby refuses to start.
        for stale in replica.data_dir.glob(".s.PGSQL.*"):
            stale.unlink()
        return replica.start()

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                if sock.connect_ex((self.host, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"PostgreSQL did not listen on port {self.port} within {timeout} s")

    def stop(self) -> None:
        """Stop the server at once; the data is throwaway so no checkpoint is wanted."""
        if not self._running:
            return
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "immediate", "-w")
        self._running = False
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

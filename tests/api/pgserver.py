"""pgserver.py - a real PostgreSQL server for the kivo-api tests, from Debian's packages.

PgServer() runs initdb in a new temporary folder and starts postgres there, listening on a Unix
socket in that folder only (listen_addresses is empty: no TCP port is opened). PostgreSQL refuses
to run as root, so when the tests run as root the server runs as the unprivileged system user
`postgres` (made by Debian's postgresql-common package), through runuser; as any other user it
runs as that user. The server is stopped and its folder removed by stop(), at exit, and - when the
test process dies without a word (SIGKILL, a ctest timeout) - by a small guard process that
waits for the test's end on a pipe. Never a mock: the tests talk to this server through libpq.

Run as a script (`python3 pgserver.py`), it starts a server, prints its socket folder and waits
for Enter: for trying kivo-api by hand.
"""
import atexit
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

SUPERUSER = "kivo"


class Unavailable(Exception):
    """No PostgreSQL server binaries here, or no user to run them as."""


def bindir():
    """The folder of initdb/pg_ctl: KIVO_PG_BINDIR, else Debian's newest
    /usr/lib/postgresql/*/bin, else the PATH."""
    env = os.environ.get("KIVO_PG_BINDIR")
    if env:
        return env
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    path = shutil.which("initdb")
    if path:
        return os.path.dirname(path)
    raise Unavailable("no initdb: install the postgresql package (scripts/install-deps.sh)")


class PgServer:
    def __init__(self, settings=None):
        """Starts the server. settings: extra postgres -c options (e.g. {"fsync": "off"})."""
        self.bin = bindir()
        self.dir = tempfile.mkdtemp(prefix="kivo-pg-")
        os.chmod(self.dir, 0o700)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.run_as = None
        self.guard = None
        self.started = False
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                self._remove()
                raise Unavailable("running as root and there is no 'postgres' user to run "
                                  "PostgreSQL as (the postgresql package makes it)")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.run_as = "postgres"
        atexit.register(self.stop)
        self._start_guard()
        try:
            self._cmd("initdb", "-D", self.data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                      "--no-sync", "--locale=C")
            opts = {"listen_addresses": "''", "unix_socket_directories": f"'{self.dir}'",
                    "max_connections": "200", "shared_buffers": "64MB"}
            opts.update(settings or {})
            o = " ".join(f"-c {k}={v}" for k, v in opts.items())
            self._cmd("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", o,
                      "start")
            self.started = True
        except Exception:
            self.stop()
            raise

    def _argv(self, prog, *args):
        argv = [os.path.join(self.bin, prog), *args]
        if self.run_as:
            argv = ["runuser", "-u", self.run_as, "--", *argv]
        return argv

    def _cmd(self, prog, *args):
        r = subprocess.run(self._argv(prog, *args), capture_output=True, text=True, timeout=120,
                           cwd=self.dir)
        if r.returncode != 0:
            log = ""
            if os.path.exists(self.log):
                log = open(self.log, errors="replace").read()[-2000:]
            raise RuntimeError(f"{prog} failed ({r.returncode}): {r.stdout}{r.stderr}{log}")
        return r.stdout

    def _start_guard(self):
        """A process that stops the server and removes the folder once our end of its pipe
        closes, however this process ends."""
        code = ("import os,shutil,subprocess,sys\n"
                "sys.stdin.read()\n"
                "argv=sys.argv[1:-1]\n"
                "subprocess.run(argv,capture_output=True,timeout=60)\n"
                "shutil.rmtree(sys.argv[-1],ignore_errors=True)\n")
        stop = self._argv("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        self.guard = subprocess.Popen([sys.executable, "-c", code, *stop, self.dir],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)

    def url(self, dbname="postgres"):
        """The libpq URI of database dbname, over the socket in our folder."""
        return f"postgresql:///{dbname}?host={self.dir}&user={SUPERUSER}"

    def psql(self, dbname, sql):
        """Runs sql with psql as the superuser; returns its unaligned output, NULL as <NULL>."""
        r = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-At", "-v",
                            "ON_ERROR_STOP=1", "-P", "null=<NULL>", "-F", "\t",
                            "-h", self.dir, "-U", SUPERUSER, "-d", dbname, "-c", sql],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"psql: {r.stderr}")
        return r.stdout

    def create_db(self, dbname):
        """A new empty database; returns its URI."""
        self.psql("postgres", f'CREATE DATABASE "{dbname}"')
        return self.url(dbname)

    def alive(self):
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def _remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def stop(self):
        if self.started:
            self.started = False
            try:
                self._cmd("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop")
            except Exception:
                pass
        if self.guard and self.guard.poll() is None:
            self.guard.stdin.close()  # the guard stops what is left and removes the folder
            try:
                self.guard.wait(60)
            except subprocess.TimeoutExpired:
                self.guard.kill()
        self.guard = None
        self._remove()


if __name__ == "__main__":
    srv = PgServer()
    print(srv.url("postgres"), flush=True)
    try:
        input("PostgreSQL is running; Enter stops it\n")
    finally:
        srv.stop()

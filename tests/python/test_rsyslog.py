"""The syslog sink against a real rsyslog (Debian `rsyslog`): RFC 5424 messages in octet-counted
frames over TCP, parsed by rsyslog's own RFC 5424 parser into the properties people template
on (severity, app name, message id, structured data, message)."""

import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import free_port
from test_sinks import post_events, sinks_file, wait_caught_up

RSYSLOGD = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if os.path.exists("/usr/sbin/rsyslogd") else None)

pytestmark = pytest.mark.skipif(RSYSLOGD is None, reason="rsyslogd (Debian package rsyslog) is not installed")


@pytest.fixture
def rsyslog(tmp_path):
    """An rsyslogd in the foreground with only a TCP input on loopback, writing one line per
    message with the parsed properties separated by tabs."""
    port = free_port()
    work = tmp_path / "rsyslog"
    work.mkdir()
    out = work / "messages.log"
    conf = work / "rsyslog.conf"
    conf.write_text(f"""
global(workDirectory="{work}")
module(load="imtcp")
template(name="fields" type="string"
         string="%syslogseverity-text%\\t%syslogfacility-text%\\t%app-name%\\t%msgid%\\t%structured-data%\\t%msg%\\n")
ruleset(name="kevents") {{
  action(type="omfile" file="{out}" template="fields")
}}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="kevents")
""")
    proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(conf), "-i", str(work / "rsyslogd.pid")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise RuntimeError(f"rsyslogd did not start: {proc.communicate()[0]}")
            time.sleep(0.1)
    try:
        yield f"127.0.0.1:{port}", out
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_lines(path, count, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            lines = [l for l in path.read_text(encoding="utf-8").splitlines() if l]
            if len(lines) >= count:
                return lines
        time.sleep(0.2)
    raise AssertionError(f"rsyslog wrote {path.read_text() if path.exists() else 'nothing'}")


def test_rsyslog_parses_every_event_as_rfc5424(make_hub, tmp_path, rsyslog):
    address, out = rsyslog
    path = sinks_file(tmp_path, f"""
sinks:
- name: rsyslog
  syslog: {{address: '{address}', facility: local3}}
  batch: {{maxWait: 100ms}}
""")
    hub = make_hub(["--sinks", path]).start()
    post_events(hub, 4)
    post_events(hub, 2, prefix="w", type="Warning", reason="BackOff",
                message='Back-off restarting "web" [x] in pod web-0')
    wait_caught_up(hub, "rsyslog")
    lines = read_lines(out, 6)
    assert len(lines) == 6, lines
    rows = [line.split("\t") for line in lines]
    warnings = [r for r in rows if r[3] == "BackOff"]
    assert len(warnings) == 2
    assert {r[0] for r in warnings} == {"warning"}
    assert {r[0] for r in rows if r not in warnings} == {"info"}
    assert {r[1] for r in rows} == {"local3"}
    assert {r[2] for r in rows} == {"kevents"}
    # The structured data element names the event; rsyslog keeps it as sent.
    assert all(r[4].startswith("[") and 'id="default/' in r[4] for r in rows), rows
    assert warnings[0][5].lstrip("\ufeff").lstrip() == 'Back-off restarting "web" [x] in pod web-0'

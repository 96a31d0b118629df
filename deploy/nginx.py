"""The nginx configuration in front of several Rasa servers and action servers (make run-prod)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import List


def _servers(ports: List[int], extra: str = "") -> str:
    return "\n".join(f"    server 127.0.0.1:{port}{extra};" for port in ports)


def config(workdir: Path, rasa_port: int, action_port: int, rasa_ports: List[int], action_ports: List[int],
           listen: str = "127.0.0.1") -> str:
    tmp = workdir / "nginx-tmp"
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}

http {{
  # Addresses are personal data and URLs carry nothing useful: no access log.
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;

  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}

  # Any Rasa server can take any turn: conversations are in PostgreSQL, their order kept by Redis.
  upstream rasa {{
{_servers(rasa_ports, " max_fails=1 fail_timeout=5s")}
    keepalive 32;
  }}
  # socket.io keeps state per connection (its polling transport needs every request of a session
  # at the same server): sticky by client address.
  upstream rasa_socketio {{
    ip_hash;
{_servers(rasa_ports, " max_fails=1 fail_timeout=5s")}
  }}
  upstream actions {{
{_servers(action_ports, " max_fails=1 fail_timeout=5s")}
    keepalive 32;
  }}

  server {{
    listen {listen}:{rasa_port};
    client_max_body_size 64k;  # a message is at most a few kB
    location /webhooks/metrics/ {{
      return 404;  # each Rasa server serves its counts on its own loopback port, never through here
    }}
    location /socket.io/ {{
      proxy_pass http://rasa_socketio;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_read_timeout 1h;
    }}
    location / {{
      proxy_pass http://rasa;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      # A server that refuses the connection (stopped, restarting) is skipped; a turn that reached
      # a server is never sent to a second one (it may have been processed).
      proxy_next_upstream error timeout;
      proxy_read_timeout 60s;
    }}
  }}

  server {{
    listen 127.0.0.1:{action_port};
    client_max_body_size 32m;  # Rasa sends the whole conversation with every action call
    location / {{
      proxy_pass http://actions;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # Our actions are safe to repeat (submission is idempotent by its key), so a call whose
      # action server died half-way is retried on another one.
      proxy_next_upstream error timeout http_502 non_idempotent;
      proxy_next_upstream_tries 3;
      proxy_read_timeout 60s;
    }}
  }}
}}
"""


def path(workdir: Path) -> Path:
    return workdir / "nginx.conf"


def write(workdir: Path, **ports) -> Path:
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / "nginx-tmp" / sub).mkdir(parents=True, exist_ok=True)
    target = path(workdir)
    target.write_text(config(workdir, **ports))
    return target

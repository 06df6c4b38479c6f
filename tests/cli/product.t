# Product files: a valid one, and bad ones each refused with one line naming
# file, line and field, exit 2.
$ cp "$SRC"/tests/fixtures/product/*.yaml . && mkdir -p bin && touch bin/tiny
$ consign product check good-minimal.yaml
good-minimal.yaml: ok: tiny-agent 0.1-1 (amd64), 1 agent entries, runtime (none) with 0 entries
$ consign product check --no-files bad-type-release-list.yaml
consign: product check: bad-type-release-list.yaml:6: release: expected a string, got a list
[2]
$ consign product check --no-files bad-missing-name.yaml
consign: product check: bad-missing-name.yaml:2: name: required field is missing
[2]
$ consign product check --no-files bad-syntax-indent.yaml
consign: product check: bad-syntax-indent.yaml:48: service: syntax error: did not find expected key while parsing a block mapping
[2]
$ consign product check --no-files bad-enum-restart.yaml
consign: product check: bad-enum-restart.yaml:48: service.restart: expected one of on-failure, always, no, got 'sometimes'
[2]
$ consign product check --no-files bad-unknown-field.yaml
consign: product check: bad-unknown-field.yaml:48: service.restrat: unknown field
[2]
$ consign product check missing.yaml
consign: product check: missing.yaml: No such file or directory
[1]
$ consign product check
consign: product check: expected one product file (see 'consign product check --help')
[2]
$ consign product check a.yaml b.yaml
consign: product check: expected one product file (see 'consign product check --help')
[2]
$ consign product show good-minimal.yaml
name: tiny-agent
version: 0.1
release: 1
architecture: amd64 (rpm x86_64)
summary: Tiny agent
vendor: 
maintainer: Tiny Team <tiny@example.org>
homepage: 
license: MIT
eula: 
section: misc
group: Applications/System
agent.package: tiny-agent
agent.files[0]: bin/tiny -> /opt/tiny-agent/bin/tiny
service.name: tiny-agent
service.user: root
service.group: root
service.exec[0]: /opt/tiny-agent/bin/tiny
service.exec[1]: --serve
service.restart: on-failure
service.restart_sec: 5
service.stop_timeout: 30
service.options_file: /etc/opt/tiny-agent/start-agent.ini
settings.token: required
settings.proxy: true
settings.auto_update: true
distribution.channel: stable
$ consign product check --define EXAMPLE_AGENT_BUILD=/nonexistent "$SRC"/examples/agent/product.yaml 2>&1 | sed "s|$SRC|SRC|g"
consign: product check: SRC/examples/agent/product.yaml:26: agent.files[0].src: /nonexistent/agent.jar: no such file or directory
[1]
$ consign product check --no-files --define EXAMPLE_AGENT_BUILD=/x "$SRC"/examples/agent/product.yaml | sed "s|$SRC|SRC|g"
SRC/examples/agent/product.yaml: ok: example-agent 1.0.0-1 (amd64), 2 agent entries, runtime example-agent-jre with 1 entries
$ consign product check --no-files "$SRC"/examples/agent/product.yaml 2>&1 | sed "s|$SRC|SRC|g"
consign: product check: SRC/examples/agent/product.yaml:26: agent.files[0].src: variable EXAMPLE_AGENT_BUILD is not set (define it or export it)
[2]

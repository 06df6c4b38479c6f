package com.example.agent;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.jar.Manifest;

/**
 * The example agent: a long-running process that logs a heartbeat and answers
 * a local health check. It stands in for a real network agent when testing
 * consign's packages, installers and launcher.
 *
 * <p>Layout, under the root prefix from $CONSIGN_ROOT (empty: the real system):
 * /var/opt/NAME/conf/{agent,secrets}.conf and /var/opt/NAME/logs/agent.log.
 *
 * <p>System properties (set in start-agent.ini, one JVM option per line):
 * agent.name, agent.heartbeat.ms, agent.tag, agent.health.port.
 */
public final class Agent implements HealthServer.Status {
    static final int DEFAULT_HEARTBEAT_MS = 10_000;
    static final int MAX_HEARTBEAT_MS = 86_400_000;
    /** The shutdown hook waits this long for the loop; systemd's stop timeout is far larger. */
    static final long STOP_WAIT_MS = 2_000;

    private final AgentLog log;
    private final String version;
    private final long intervalMs;
    private final String tag;
    private final CountDownLatch stop = new CountDownLatch(1);
    private final CountDownLatch loopDone = new CountDownLatch(1);
    private volatile long seq;
    private volatile long lastBeatNanos = System.nanoTime();
    private volatile HealthServer health;

    private Agent(AgentLog log, String version, long intervalMs, String tag) {
        this.log = log;
        this.version = version;
        this.intervalMs = intervalMs;
        this.tag = tag;
    }

    public static void main(String[] args) {
        for (String a : args) {
            if (a.equals("--version")) {
                System.out.println(implementationVersion());
                return;
            }
            System.err.println("agent: unknown argument (usage: Agent [--version])");
            System.exit(2);
        }
        try {
            run();
        } catch (StartupException e) {
            System.err.println("agent: " + e.getMessage());
            Runtime.getRuntime().halt(1);
        }
    }

    /** A failure before the agent is running: reported on stderr, exit status 1. */
    static final class StartupException extends Exception {
        private static final long serialVersionUID = 1L;

        StartupException(String msg) {
            super(msg);
        }
    }

    private static void run() throws StartupException {
        String name = System.getProperty("agent.name", "example-agent");
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")) {
            throw new StartupException("agent.name: not a valid name");
        }
        String root = System.getenv("CONSIGN_ROOT");
        Path base =
                root == null || root.isEmpty()
                        ? Path.of("/var/opt", name)
                        : Path.of(root, "var", "opt", name);
        Path confDir = base.resolve("conf");
        Path logDir = base.resolve("logs");
        AgentLog log;
        try {
            mkdirs(confDir);
            mkdirs(logDir);
            log = AgentLog.open(logDir.resolve("agent.log"));
        } catch (IOException e) {
            throw new StartupException(base + ": " + e);
        }

        Settings settings = Settings.load(confDir);
        for (String w : settings.warnings()) {
            log.warn(w);
        }
        long interval = heartbeatMs(settings, log);
        String tag = System.getProperty("agent.tag", "");
        int port = healthPort(settings, log);

        Agent agent = new Agent(log, implementationVersion(), interval, tag);
        log.info(
                "starting name="
                        + name
                        + " version="
                        + agent.version
                        + " pid="
                        + ProcessHandle.current().pid()
                        + " java="
                        + System.getProperty("java.version")
                        + " configured="
                        + (settings.has("token") ? "yes" : "no")
                        + " maxheap_mb="
                        + Runtime.getRuntime().maxMemory() / (1024 * 1024));
        if (settings.has("proxy_host")) {
            log.info(
                    "proxy host="
                            + settings.get("proxy_host")
                            + " port="
                            + settings.getInt("proxy_port", 1, 65535, 3128)
                            + " auth="
                            + (settings.has("proxy_user") ? "yes" : "no"));
        }
        agent.start(port);
    }

    private static void mkdirs(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(
                    dir,
                    PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rwxr-x---")));
        }
    }

    /** System property first (an operator's override in start-agent.ini), then agent.conf. */
    private static long heartbeatMs(Settings settings, AgentLog log) {
        String prop = System.getProperty("agent.heartbeat.ms");
        if (prop != null) {
            Integer n = Settings.parseInt(prop.strip(), 1, MAX_HEARTBEAT_MS);
            if (n != null) {
                return n;
            }
            log.warn("agent.heartbeat.ms is not a number in [1, " + MAX_HEARTBEAT_MS + "]");
        }
        return settings.getInt("heartbeat_ms", 1, MAX_HEARTBEAT_MS, DEFAULT_HEARTBEAT_MS);
    }

    private static int healthPort(Settings settings, AgentLog log) {
        String prop = System.getProperty("agent.health.port");
        if (prop != null) {
            Integer n = Settings.parseInt(prop.strip(), 0, 65535);
            if (n != null) {
                return n;
            }
            log.warn("agent.health.port is not a port number");
        }
        return settings.getInt("health_port", 0, 65535, 0);
    }

    /** Implementation-Version of the jar's manifest (set by the build), else "unknown". */
    static String implementationVersion() {
        Package p = Agent.class.getPackage();
        String v = p == null ? null : p.getImplementationVersion();
        if (v != null) {
            return v;
        }
        // The class loader may not have defined the package from the manifest.
        URL url = Agent.class.getResource("/META-INF/MANIFEST.MF");
        if (url != null) {
            try (InputStream in = url.openStream()) {
                v = new Manifest(in).getMainAttributes().getValue("Implementation-Version");
            } catch (IOException e) {
                v = null;
            }
        }
        return v != null ? v : "unknown";
    }

    private void start(int port) {
        if (port > 0) {
            try {
                health = HealthServer.start(port, this);
                log.info("health listening=127.0.0.1:" + health.port());
            } catch (IOException e) {
                log.error("health: cannot listen on 127.0.0.1:" + port + ": " + e.getMessage());
                log.close();
                Runtime.getRuntime().halt(1);
            }
        }
        Runtime.getRuntime().addShutdownHook(new Thread(this::shutdown, "agent-shutdown"));
        try {
            loop();
        } catch (RuntimeException | Error e) {
            log.error("heartbeat loop failed: " + e);
            log.close();
            Runtime.getRuntime().halt(1);
        }
    }

    /** Heartbeats on a fixed schedule; a late beat resets the schedule rather than bursting. */
    private void loop() {
        long intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMs);
        long next = System.nanoTime();
        try {
            while (stop.getCount() > 0) {
                seq++;
                lastBeatNanos = System.nanoTime();
                log.info("heartbeat seq=" + seq + " interval_ms=" + intervalMs + " tag=" + tag);
                next += intervalNanos;
                long wait = next - System.nanoTime();
                if (wait < 0) {
                    next = System.nanoTime();
                    wait = 0;
                }
                if (stop.await(wait, TimeUnit.NANOSECONDS)) {
                    break;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            loopDone.countDown();
        }
    }

    /*
     * The shutdown hook. The JVM runs it for SIGTERM (what systemd and the
     * installers send), SIGINT and SIGHUP alike and does not say which; java.base
     * has no signal API, so TERM is reported. halt(0) makes a requested stop
     * exit with status 0 instead of the JVM's 143, so systemd sees a clean stop.
     */
    private void shutdown() {
        log.info("stopping signal=TERM");
        stop.countDown();
        HealthServer h = health;
        if (h != null) {
            h.stop();
        }
        try {
            if (!loopDone.await(STOP_WAIT_MS, TimeUnit.MILLISECONDS)) {
                log.warn("heartbeat loop did not stop within " + STOP_WAIT_MS + " ms");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.info("stopped");
        log.close();
        Runtime.getRuntime().halt(0);
    }

    @Override
    public String version() {
        return version;
    }

    @Override
    public long seq() {
        return seq;
    }

    @Override
    public long sinceLastBeatMs() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastBeatNanos);
    }

    @Override
    public long intervalMs() {
        return intervalMs;
    }
}

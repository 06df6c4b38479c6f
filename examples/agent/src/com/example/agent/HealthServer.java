package com.example.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The local health check: GET /health on 127.0.0.1:PORT answers 200 "ok
 * version=V seq=N" while the heartbeat loop is alive, 503 "stuck ..." once it
 * has missed more than three intervals. Loopback only: it is for the host's
 * own monitoring, never exposed.
 */
final class HealthServer {
    /** What the server reports; implemented by the agent. */
    interface Status {
        String version();

        long seq();

        /** Milliseconds since the last heartbeat. */
        long sinceLastBeatMs();

        long intervalMs();
    }

    private final HttpServer server;
    private final ExecutorService executor;

    private HealthServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    static HealthServer start(int port, Status status) throws IOException {
        InetAddress lo = InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
        HttpServer server = HttpServer.create(new InetSocketAddress(lo, port), 16);
        // One daemon thread: health checks are rare and must never keep the JVM alive.
        ExecutorService ex =
                Executors.newSingleThreadExecutor(
                        r -> {
                            Thread t = new Thread(r, "agent-health");
                            t.setDaemon(true);
                            return t;
                        });
        server.setExecutor(ex);
        server.createContext("/", exchange -> handle(exchange, status));
        server.start();
        return new HealthServer(server, ex);
    }

    int port() {
        return server.getAddress().getPort();
    }

    void stop() {
        server.stop(0);
        executor.shutdownNow();
    }

    private static void handle(HttpExchange ex, Status status) throws IOException {
        try {
            String method = ex.getRequestMethod();
            boolean head = method.equals("HEAD");
            int code;
            String body;
            if (!ex.getRequestURI().getPath().equals("/health")) {
                code = 404;
                body = "not found\n";
            } else if (!head && !method.equals("GET")) {
                code = 405;
                body = "method not allowed\n";
                ex.getResponseHeaders().set("Allow", "GET, HEAD");
            } else {
                boolean stuck = status.sinceLastBeatMs() > 3 * status.intervalMs();
                code = stuck ? 503 : 200;
                body =
                        (stuck ? "stuck" : "ok")
                                + " version="
                                + status.version()
                                + " seq="
                                + status.seq()
                                + "\n";
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            ex.getResponseHeaders().set("Cache-Control", "no-store");
            ex.sendResponseHeaders(code, head ? -1 : bytes.length);
            if (!head) {
                try (OutputStream out = ex.getResponseBody()) {
                    out.write(bytes);
                }
            }
        } finally {
            ex.close();
        }
    }
}

package com.example.agent;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The agent's log: one line per event, appended to logs/agent.log and flushed
 * at once, so a crash or a SIGKILL never loses a line that was reported.
 * Lines are "TIMESTAMP LEVEL message" with a millisecond UTC timestamp.
 */
final class AgentLog implements AutoCloseable {
    /** Fixed width (always three fraction digits), unlike ISO_INSTANT. */
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final Path file;
    private OutputStream out;

    private AgentLog(Path file, OutputStream out) {
        this.file = file;
        this.out = out;
    }

    static AgentLog open(Path file) throws IOException {
        return new AgentLog(file, new FileOutputStream(file.toFile(), true));
    }

    Path file() {
        return file;
    }

    void info(String msg) {
        write("INFO", msg);
    }

    void warn(String msg) {
        write("WARN", msg);
    }

    void error(String msg) {
        write("ERROR", msg);
    }

    /** Synchronized: the heartbeat loop, the health server and the shutdown hook all log. */
    synchronized void write(String level, String msg) {
        String line = STAMP.format(Instant.now()) + " " + level + " " + clean(msg) + "\n";
        if (out == null) {
            System.err.print(line);
            return;
        }
        try {
            out.write(line.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            System.err.print(line);
        }
    }

    /** One event, one line: a value with a newline must not forge a second entry. */
    private static String clean(String msg) {
        StringBuilder b = new StringBuilder(msg.length());
        for (int i = 0; i < msg.length(); i++) {
            char c = msg.charAt(i);
            b.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return b.toString();
    }

    @Override
    public synchronized void close() {
        if (out == null) {
            return;
        }
        try {
            out.close();
        } catch (IOException e) {
            // Nothing left to report it to.
        }
        out = null;
    }
}

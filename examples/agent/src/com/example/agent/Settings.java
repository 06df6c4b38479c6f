package com.example.agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Settings from conf/agent.conf and conf/secrets.conf: "key=value" lines,
 * "#" comments and blank lines ignored; secrets.conf is read last and wins.
 * A missing file is not an error. Secret values are kept here and never put
 * in a message: problems are reported by file, line and key only.
 */
final class Settings {
    static final int MAX_FILE = 64 * 1024;
    static final int MAX_LINE = 4096;

    /** Keys whose values must never be logged. */
    static final Set<String> SECRET_KEYS = Set.of("token", "proxy_password");

    /** Every key the agent knows; others are reported (by name) and ignored. */
    static final Set<String> KNOWN_KEYS =
            Set.of(
                    "token",
                    "health_port",
                    "heartbeat_ms",
                    "proxy_pac_url",
                    "proxy_host",
                    "proxy_port",
                    "proxy_user",
                    "proxy_password",
                    "server_url",
                    "channel",
                    "agent_id",
                    "auto_update");

    private final Map<String, String> values = new LinkedHashMap<>();
    private final List<String> warnings = new ArrayList<>();

    private Settings() {}

    static Settings load(Path confDir) {
        Settings s = new Settings();
        s.read(confDir.resolve("agent.conf"));
        s.read(confDir.resolve("secrets.conf"));
        return s;
    }

    /** Problems found while reading, safe to log (no values). */
    List<String> warnings() {
        return warnings;
    }

    String get(String key) {
        return values.get(key);
    }

    boolean has(String key) {
        String v = values.get(key);
        return v != null && !v.isEmpty();
    }

    /** The value as an int in [min, max], or def (with a warning) when absent or malformed. */
    int getInt(String key, int min, int max, int def) {
        String v = values.get(key);
        if (v == null || v.isEmpty()) {
            return def;
        }
        Integer n = parseInt(v, min, max);
        if (n == null) {
            warnings.add("conf: " + key + " is not a number in [" + min + ", " + max + "]");
            return def;
        }
        return n;
    }

    /** Bounded decimal parse: null unless v is all digits and within [min, max]. */
    static Integer parseInt(String v, int min, int max) {
        if (v == null || v.isEmpty() || v.length() > 10) {
            return null;
        }
        long n = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return null;
            }
            n = n * 10 + (c - '0');
        }
        return n < min || n > max ? null : (int) n;
    }

    private void read(Path file) {
        String name = file.getFileName().toString();
        byte[] data;
        try (InputStream in = Files.newInputStream(file)) {
            data = in.readNBytes(MAX_FILE + 1);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            warnings.add("conf: " + name + ": cannot read: " + e.getClass().getSimpleName());
            return;
        }
        if (data.length > MAX_FILE) {
            warnings.add("conf: " + name + ": larger than " + MAX_FILE + " bytes, ignored");
            return;
        }
        if (name.equals("secrets.conf")) {
            checkPrivate(file, name);
        }
        String[] lines = new String(data, StandardCharsets.UTF_8).split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            parseLine(name, i + 1, lines[i]);
        }
    }

    private void parseLine(String name, int lineNo, String raw) {
        String where = "conf: " + name + " line " + lineNo + ": ";
        if (raw.length() > MAX_LINE) {
            warnings.add(where + "longer than " + MAX_LINE + " characters, ignored");
            return;
        }
        String line = raw.strip();
        if (line.isEmpty() || line.startsWith("#")) {
            return;
        }
        int eq = line.indexOf('=');
        if (eq <= 0) {
            warnings.add(where + "not key=value, ignored");
            return;
        }
        String key = line.substring(0, eq).strip();
        String value = line.substring(eq + 1).strip();
        if (!KNOWN_KEYS.contains(key)) {
            warnings.add(where + "unknown key " + (key.matches("[A-Za-z0-9_.-]{1,64}") ? key : "?"));
            return;
        }
        values.put(key, value);
    }

    /** A token readable by every local user is a leak worth a warning (but still used). */
    private void checkPrivate(Path file, String name) {
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
            if (p.contains(PosixFilePermission.OTHERS_READ)) {
                warnings.add("conf: " + name + " is readable by other users; chmod 0600 it");
            }
        } catch (IOException | UnsupportedOperationException e) {
            // Not a POSIX file system: nothing to check.
        }
    }
}

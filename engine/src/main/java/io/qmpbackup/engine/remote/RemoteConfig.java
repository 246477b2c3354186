package io.qmpbackup.engine.remote;

import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Where off-site copies go: an S3-compatible bucket under a prefix. Read from a properties file
 * ({@link #load}); the secrets come from environment variables or files the config names, never
 * from the command line (where {@code ps} shows them) and never into {@link #toString}, a log or
 * an exception.
 *
 * @param partChecksum what each request's body is checked by on receipt ({@link PartChecksum}): md5 for
 *     stores without S3's newer checksums (S3Proxy, older Ceph RGW), which would refuse or ignore them
 * @param keepLast, keepDaily, keepWeekly, keepMonthly the remote's own retention (0 = not set);
 *     all unset means the remote follows the local policy
 */
public record RemoteConfig(URI endpoint, String bucket, String prefix, String region, boolean pathStyle,
        Secret accessKeyId, Secret secretAccessKey, byte[] encryptionKey, long partSize, int parallelParts,
        long bandwidthLimit, PartChecksum partChecksum, int keepLast, int keepDaily, int keepWeekly, int keepMonthly) {

    public static final String ENV_ACCESS_KEY = "AWS_ACCESS_KEY_ID";
    public static final String ENV_SECRET_KEY = "AWS_SECRET_ACCESS_KEY";
    public static final long MIN_PART = 5L << 20;

    /** A secret value whose text never shows in toString. */
    public record Secret(String value) {
        @Override
        public String toString() {
            return "(secret)";
        }
    }

    public RemoteConfig {
        if (bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("remote config: 'bucket' is missing");
        }
        prefix = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
        if (partSize < MIN_PART) {
            throw new IllegalArgumentException("remote config: part-size must be at least 5M (S3's smallest part)");
        }
        if (partChecksum == null) {
            partChecksum = PartChecksum.CRC32C;
        }
        if (encryptionKey != null && encryptionKey.length != 32) {
            throw new IllegalArgumentException("remote config: the encryption key must be 32 bytes (base64 of 32"
                    + " random bytes: head -c 32 /dev/urandom | base64), it has " + encryptionKey.length);
        }
    }

    /** True when the remote has keep-* values of its own. */
    public boolean hasOwnRetention() {
        return keepLast + keepDaily + keepWeekly + keepMonthly > 0;
    }

    /**
     * The same remote with its prefix narrowed to {@code sub} (relative, no '..'): a namespace's
     * part of a shared bucket, or one backup target's, so a target's keys never reach another's.
     */
    public RemoteConfig under(String sub) {
        String s = sub == null ? "" : sub.replaceAll("^/+|/+$", "");
        if (s.isEmpty()) {
            return this;
        }
        if (java.util.Arrays.asList(s.split("/+")).stream().anyMatch(x -> x.equals("..") || x.equals("."))) {
            throw new IllegalArgumentException("remote prefix part must not contain '.' or '..': " + sub);
        }
        return new RemoteConfig(endpoint, bucket, key(s), region, pathStyle, accessKeyId, secretAccessKey,
                encryptionKey, partSize, parallelParts, bandwidthLimit, partChecksum, keepLast, keepDaily, keepWeekly,
                keepMonthly);
    }

    /** The object key of a path relative to the backup target. */
    public String key(String relative) {
        return prefix.isEmpty() ? relative : prefix + "/" + relative;
    }

    /** The path relative to the target of an object key under the prefix. */
    public String relative(String key) {
        return prefix.isEmpty() ? key : key.substring(prefix.length() + 1);
    }

    @Override
    public String toString() {
        return "s3 bucket " + bucket + (prefix.isEmpty() ? "" : " prefix " + prefix) + " at "
                + (endpoint == null ? "AWS" : endpoint) + (encryptionKey == null ? "" : " (encrypted)");
    }

    /** Reads the config file; {@code env} is the process environment (a map, so tests give their own). */
    public static RemoteConfig load(Path file, Map<String, String> env) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        Path dir = file.toAbsolutePath().getParent();
        for (String forbidden : new String[] {"secret-access-key", "encryption-key"}) {
            if (p.containsKey(forbidden)) {
                throw new IllegalArgumentException("remote config " + file + ": '" + forbidden + "' is not read from"
                        + " the config itself; name a file (" + forbidden + "-file) or a variable ("
                        + forbidden + "-env)");
            }
        }
        Secret id = secret(p, "access-key-id", env.getOrDefault(ENV_ACCESS_KEY, null), dir, env);
        Secret secret = secret(p, "secret-access-key", env.getOrDefault(ENV_SECRET_KEY, null), dir, env);
        if (id == null || secret == null) {
            throw new IllegalArgumentException("remote config " + file + ": no credentials: set " + ENV_ACCESS_KEY
                    + " and " + ENV_SECRET_KEY + ", or access-key-id-file and secret-access-key-file");
        }
        Secret key = secret(p, "encryption-key", null, dir, env);
        String ep = p.getProperty("endpoint");
        return new RemoteConfig(ep == null || ep.isBlank() ? null : URI.create(ep.trim()), p.getProperty("bucket"),
                p.getProperty("prefix", ""), p.getProperty("region", "us-east-1"),
                Boolean.parseBoolean(p.getProperty("path-style", "true")), id, secret,
                key == null ? null : decodeKey(key.value()), size(p.getProperty("part-size", "16M")),
                Integer.parseInt(p.getProperty("parallel-parts", "4")), size(p.getProperty("bandwidth-limit", "0")),
                PartChecksum.parse(p.getProperty("part-checksum", "crc32c")),
                num(p, "keep-last"), num(p, "keep-daily"), num(p, "keep-weekly"), num(p, "keep-monthly"));
    }

    /** A secret from {@code name-file} (relative to the config), {@code name-env}, {@code name} (id only), or the fallback. */
    private static Secret secret(Properties p, String name, String fallback, Path dir, Map<String, String> env)
            throws IOException {
        String f = p.getProperty(name + "-file");
        if (f != null) {
            return new Secret(Files.readString(dir.resolve(f.trim()), StandardCharsets.UTF_8).trim());
        }
        String var = p.getProperty(name + "-env");
        if (var != null) {
            String v = env.get(var.trim());
            if (v == null) {
                throw new IllegalArgumentException("remote config: " + name + "-env names " + var.trim()
                        + ", which is not set");
            }
            return new Secret(v.trim());
        }
        String plain = name.equals("access-key-id") ? p.getProperty(name) : null;
        return plain != null ? new Secret(plain.trim()) : fallback == null ? null : new Secret(fallback.trim());
    }

    private static byte[] decodeKey(String base64) {
        try {
            return Base64.getDecoder().decode(base64.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("remote config: the encryption key is not base64");
        }
    }

    private static int num(Properties p, String name) {
        return Integer.parseInt(p.getProperty(name, "0").trim());
    }

    /** 16M, 1G, 500K or plain bytes. */
    static long size(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        long unit = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            default -> 1;
        };
        return Long.parseLong(unit == 1 ? t : t.substring(0, t.length() - 1)) * unit;
    }
}

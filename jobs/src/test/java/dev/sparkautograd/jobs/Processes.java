package dev.sparkautograd.jobs;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.fail;

/** Runs an external command for a test, with a timeout; kills it and its descendants on timeout. */
final class Processes {

    record Result(int exit, String out, String err) {
        long errLines() {
            return err.lines().count();
        }

        long outLines() {
            return out.lines().count();
        }

        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    private Processes() {}

    /**
     * Runs {@code command} in {@code dir} with stdin from /dev/null; {@code env} may edit the environment.
     * Output is read to EOF (so lines written by a helper process that outlives the command are kept).
     */
    static Result run(List<String> command, Path dir, Duration timeout, Consumer<Map<String, String>> env)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        env.accept(pb.environment());
        Process p = pb.start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> read(p.getErrorStream()));
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            kill(p.toHandle());
            fail("timed out after " + timeout + ": " + command + "\n--- stdout\n" + out.getNow("")
                    + "--- stderr\n" + err.getNow(""));
        }
        try {
            return new Result(p.exitValue(), out.get(30, TimeUnit.SECONDS), err.get(30, TimeUnit.SECONDS));
        } catch (Exception e) {
            throw new AssertionError("output of " + command + " not closed 30 s after it exited", e);
        }
    }

    /** A command started by {@link #start}: the process and its output, read to EOF in the background. */
    record Started(Process process, CompletableFuture<String> out, CompletableFuture<String> err) {
        /** What it printed so far (stdout and stderr), for a failure message. */
        String soFar() {
            return "--- stdout\n" + out.getNow("(still open)") + "--- stderr\n" + err.getNow("(still open)");
        }
    }

    /** Starts {@code command} in {@code dir} as {@link #run} does, without waiting for it. */
    static Started start(List<String> command, Path dir, Consumer<Map<String, String>> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        env.accept(pb.environment());
        Process p = pb.start();
        return new Started(p, CompletableFuture.supplyAsync(() -> read(p.getInputStream())), CompletableFuture.supplyAsync(() -> read(p.getErrorStream())));
    }

    private static String read(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Kills a process and every descendant. */
    static void kill(ProcessHandle process) {
        List<ProcessHandle> all = process.descendants().toList();
        process.destroyForcibly();
        all.forEach(ProcessHandle::destroyForcibly);
        process.onExit().orTimeout(30, TimeUnit.SECONDS).join();
    }
}

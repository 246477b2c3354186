package io.qmpbackup.engine.cli;

import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.backup.TargetIo;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import picocli.CommandLine;

/**
 * Options that take one of a few words. Each class is both the option's completion candidates
 * (so help lists them through ${COMPLETION-CANDIDATES} and shell completion offers them) and its
 * converter (so a wrong word is a usage error, exit 2, naming the words): the list is written once.
 */
final class Choices {
    private Choices() {
    }

    /** The words an option takes, and what each becomes. */
    abstract static class Choice<T> implements Iterable<String>, CommandLine.ITypeConverter<T> {
        private final List<String> words;
        private final Function<String, T> of;

        Choice(Function<String, T> of, String... words) {
            this.of = of;
            this.words = List.of(words);
        }

        @Override
        public Iterator<String> iterator() {
            return words.iterator();
        }

        @Override
        public T convert(String value) {
            String word = value.trim().toLowerCase(Locale.ROOT);
            if (!words.contains(word)) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not one of "
                        + String.join(", ", words));
            }
            return of.apply(word);
        }
    }

    /** backup --level. */
    static final class Level extends Choice<BackupLevel> {
        Level() {
            super(BackupLevel::parse, "full", "inc", "auto", "copy");
        }
    }

    /** backup --target-cache. */
    static final class Cache extends Choice<TargetIo.Cache> {
        Cache() {
            super(TargetIo.Cache::parse, "direct", "buffered");
        }
    }

    /** backup --checksum. */
    static final class Checksum extends Choice<TargetIo.Checksum> {
        Checksum() {
            super(TargetIo.Checksum::parse, "sink", "read-back");
        }
    }

    /** backup --blockdev-aio: QEMU's names. */
    static final class Aio extends Choice<String> {
        Aio() {
            super(Function.identity(), "threads", "native", "io_uring");
        }
    }

    /** info --show. */
    static final class Show extends Choice<String> {
        Show() {
            super(Function.identity(), "blockdev", "bitmaps");
        }
    }
}

package io.qmpbackup.kubectl;

import java.util.ArrayList;
import java.util.List;

/** Columns padded to their widest cell, three spaces apart, as kubectl get prints them. */
final class Table {
    private final List<String[]> rows = new ArrayList<>();

    Table(String... header) {
        rows.add(header);
    }

    Table row(String... cells) {
        String[] r = new String[cells.length];
        for (int i = 0; i < cells.length; i++) {
            r[i] = cells[i] == null || cells[i].isEmpty() ? "-" : cells[i];
        }
        rows.add(r);
        return this;
    }

    int size() {
        return rows.size() - 1;
    }

    /** The table, {@code indent} before every line, each line ending in a newline. */
    String render(String indent) {
        int columns = rows.get(0).length;
        int[] width = new int[columns];
        for (String[] r : rows) {
            for (int i = 0; i < columns; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder(indent);
            for (int i = 0; i < columns; i++) {
                line.append(r[i]);
                if (i < columns - 1) {
                    line.append(" ".repeat(width[i] - r[i].length() + 3));
                }
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }
}

package io.qmpbackup.engine.service;

/**
 * A sound chain folder.
 *
 * @param files       files checked
 * @param checksummed of those, how many matched a recorded checksum
 */
public record VerifyOutcome(int files, int checksummed) {
}

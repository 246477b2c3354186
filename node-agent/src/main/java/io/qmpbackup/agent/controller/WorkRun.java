package io.qmpbackup.agent.controller;

/**
 * One backup or restore the agent runs on a worker thread. What it holds exclusively while it
 * runs is known before it is built ({@link BackupWork#exclusive}, {@link RestoreWork#exclusive}):
 * the dispatcher decides whether it may start without building it.
 */
interface WorkRun {
    void run();

    void cancel(String reason);
}

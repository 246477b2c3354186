package io.qmpbackup.agent.controller;

/** One backup or restore the agent runs on a worker thread. */
interface WorkRun {
    void run();

    void cancel(String reason);

    /** What the work holds exclusively while it runs (a VM's QMP socket, a chain folder). */
    String exclusive();
}

package io.qmpbackup.agent.controller;

/** One backup or restore the agent runs on a worker thread. */
interface WorkRun {
    void run();

    void cancel(String reason);
}

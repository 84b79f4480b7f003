package dev.sparkautograd.jobs;

import dev.sparkautograd.dist.AutoStorageLevel;
import org.apache.spark.SparkContext;
import org.apache.spark.storage.StorageLevel;

/**
 * How train caches its blocks: the library's automatic level ({@link AutoStorageLevel}: serialized in memory,
 * spilling to disk, when the blocks fit the cluster's storage memory; straight to disk when they do not; its comment
 * says why), with the figures it was chosen from for train's {@code cache:} line.
 */
final class CacheLevel {
    private CacheLevel() {}

    /** The level and the figures it was chosen from. */
    record Choice(AutoStorageLevel auto) {
        StorageLevel level() {
            return auto.level();
        }

        String describe() {
            return auto.describe();
        }
    }

    /** MEMORY_AND_DISK_SER if {@code blockBytes} fit the executors' storage memory, else DISK_ONLY. */
    static Choice forBlocks(SparkContext sc, long blockBytes) {
        return new Choice(AutoStorageLevel.forBlocks(sc, blockBytes));
    }

    /** The executors' storage memory ({@link AutoStorageLevel#storageMemory}). */
    static long storageMemory(SparkContext sc) {
        return AutoStorageLevel.storageMemory(sc);
    }
}

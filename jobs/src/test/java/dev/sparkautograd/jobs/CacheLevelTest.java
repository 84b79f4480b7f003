package dev.sparkautograd.jobs;

import dev.sparkautograd.testing.SharedSpark;
import org.apache.spark.SparkContext;
import org.apache.spark.storage.StorageLevel;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** train's cache level: in memory (spilling serialized) up to the storage memory, straight to disk above it. */
class CacheLevelTest {

    @Test
    void blocksBeyondTheStorageMemoryGoStraightToDisk() {
        SparkContext sc = SharedSpark.session().sparkContext();
        long storage = CacheLevel.storageMemory(sc);
        // local mode: the driver's block manager is the executor; Spark gives it 0.6 of the heap above 300 MB
        assertTrue(storage > 0 && storage < Runtime.getRuntime().maxMemory(), storage + " bytes of storage memory");
        Object[][] cases = {
                {1L, StorageLevel.MEMORY_AND_DISK_SER()},
                {storage, StorageLevel.MEMORY_AND_DISK_SER()},
                {storage + 1, StorageLevel.DISK_ONLY()},
                {4 * storage, StorageLevel.DISK_ONLY()},
        };
        for (Object[] c : cases) {
            CacheLevel.Choice choice = CacheLevel.forBlocks(sc, (Long) c[0]);
            assertEquals(c[1], choice.level(), () -> c[0] + " bytes of blocks, " + storage + " of storage memory");
            assertEquals(c[1] == StorageLevel.DISK_ONLY(), choice.describe().startsWith("DISK_ONLY ("), choice::describe);
            assertTrue(choice.describe().contains(String.format("%.1f MB of blocks", (Long) c[0] / 1e6)), choice::describe);
        }
    }
}

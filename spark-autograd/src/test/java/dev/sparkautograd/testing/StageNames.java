package dev.sparkautograd.testing;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.storage.RDDInfo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * The names of the RDDs in the stages that ran during a body, as a SparkListener sees them (and the Spark UI
 * shows them). A reduction's job is named after its node and its ops, with what it runs fused.
 */
public final class StageNames {
    private StageNames() {}

    public static List<String> during(Runnable body) {
        SparkContext sc = SharedSpark.jsc().sc();
        List<String> names = Collections.synchronizedList(new ArrayList<>());
        SparkListener listener = new SparkListener() {
            @Override
            public void onStageSubmitted(SparkListenerStageSubmitted e) {
                for (RDDInfo r : scala.jdk.javaapi.CollectionConverters.asJava(e.stageInfo().rddInfos())) names.add(r.name());
            }
        };
        drain(sc);
        sc.addSparkListener(listener);
        try {
            body.run();
            drain(sc);
        } finally {
            sc.removeSparkListener(listener);
        }
        return new ArrayList<>(names);
    }

    /** The names that mention {@code what} (e.g. "row program:"). */
    public static List<String> mentioning(List<String> names, String what) {
        List<String> out = new ArrayList<>();
        for (String n : names) if (n != null && n.contains(what)) out.add(n);
        return out;
    }

    private static void drain(SparkContext sc) {
        try {
            sc.listenerBus().waitUntilEmpty();
        } catch (TimeoutException e) {
            throw new AssertionError(e);
        }
    }
}

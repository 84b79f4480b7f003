package dev.sparkautograd.jobs;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.text.DecimalFormat;
import java.util.List;

/**
 * train's loss curve as a PNG, drawn by JFreeChart (headless): steps on integer ticks, the loss on a log axis
 * when it is positive and spans more than a factor of 10, else linear; JFreeChart lays out the tick labels
 * and the axis titles so they do not overlap.
 */
final class LossPlot {

    static final int WIDTH = 800, HEIGHT = 500;

    private LossPlot() {}

    static JFreeChart chart(String title, List<Double> loss) {
        XYSeries series = new XYSeries("loss");
        for (int i = 0; i < loss.size(); i++) series.add(i, loss.get(i));
        double min = loss.stream().mapToDouble(Double::doubleValue).min().orElse(0);
        double max = loss.stream().mapToDouble(Double::doubleValue).max().orElse(1);
        NumberAxis steps = new NumberAxis("step");
        steps.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        steps.setAutoRangeIncludesZero(true);
        if (loss.size() < 2) steps.setRange(0, 1);
        ValueAxis y;
        if (min > 0 && max / min > 10) {
            LogAxis log = new LogAxis("loss (log scale)");
            log.setNumberFormatOverride(new DecimalFormat("0.##E0"));
            y = log;
        } else {
            NumberAxis lin = new NumberAxis("loss");
            lin.setAutoRangeIncludesZero(false);
            if (!(max > min)) lin.setRange(min - 0.5, max + 0.5);
            y = lin;
        }
        XYLineAndShapeRenderer line = new XYLineAndShapeRenderer(true, loss.size() <= 50);
        line.setSeriesPaint(0, new Color(31, 119, 180));
        line.setSeriesStroke(0, new BasicStroke(2f));
        XYPlot plot = new XYPlot(new XYSeriesCollection(series), steps, y, line);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(220, 220, 220));
        plot.setRangeGridlinePaint(new Color(220, 220, 220));
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, false);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    static void write(OutputStream out, String title, List<Double> loss) throws IOException {
        System.setProperty("java.awt.headless", "true");
        ChartUtils.writeChartAsPNG(out, chart(title, loss), WIDTH, HEIGHT);
    }

    /** The step axis's tick unit as drawn at {@link #WIDTH} (for tests). */
    static double stepTickUnit(JFreeChart chart) {
        java.awt.image.BufferedImage img = chart.createBufferedImage(WIDTH, HEIGHT);
        NumberAxis steps = (NumberAxis) chart.getXYPlot().getDomainAxis();
        NumberTickUnit unit = steps.getTickUnit();
        return img != null ? unit.getSize() : Double.NaN;
    }
}

package dev.sparkautograd.jobs;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.util.List;

/**
 * A PNG line plot of the loss per step, drawn with Java2D (headless). The y axis is logarithmic when the
 * loss is positive and spans more than a factor of 10, else linear.
 */
final class LossPlot {

    private LossPlot() {}

    static void write(OutputStream out, String title, List<Double> loss) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int w = 800, h = 500, left = 90, right = 30, top = 50, bottom = 60;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            double min = loss.stream().mapToDouble(Double::doubleValue).min().orElse(0);
            double max = loss.stream().mapToDouble(Double::doubleValue).max().orElse(1);
            boolean log = min > 0 && max / min > 10;
            double lo = log ? Math.log10(min) : min, hi = log ? Math.log10(max) : max;
            if (hi - lo < 1e-12) { lo -= 0.5; hi += 0.5; }
            int pw = w - left - right, ph = h - top - bottom;
            g.setColor(new Color(235, 235, 235));
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            for (int i = 0; i <= 5; i++) {
                int yy = top + ph - i * ph / 5;
                g.setColor(new Color(230, 230, 230));
                g.drawLine(left, yy, left + pw, yy);
                double v = lo + (hi - lo) * i / 5;
                g.setColor(Color.DARK_GRAY);
                String label = log ? String.format("%.3g", Math.pow(10, v)) : String.format("%.4g", v);
                g.drawString(label, left - 8 - g.getFontMetrics().stringWidth(label), yy + 4);
            }
            int steps = Math.max(1, loss.size() - 1);
            for (int i = 0; i <= 5; i++) {
                int xx = left + i * pw / 5;
                String label = String.valueOf(Math.round((double) steps * i / 5));
                g.drawString(label, xx - g.getFontMetrics().stringWidth(label) / 2, top + ph + 20);
            }
            g.setColor(Color.BLACK);
            g.drawRect(left, top, pw, ph);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString(title, left, top - 18);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            g.drawString("step", left + pw / 2 - 12, h - 15);
            g.rotate(-Math.PI / 2);
            g.drawString(log ? "loss (log scale)" : "loss", -(top + ph / 2) - 40, 22);
            g.rotate(Math.PI / 2);
            Path2D.Double line = new Path2D.Double();
            for (int i = 0; i < loss.size(); i++) {
                double v = log ? Math.log10(loss.get(i)) : loss.get(i);
                double px = left + (double) pw * i / steps, py = top + ph - ph * (v - lo) / (hi - lo);
                if (i == 0) line.moveTo(px, py); else line.lineTo(px, py);
            }
            g.setColor(new Color(31, 119, 180));
            g.setStroke(new BasicStroke(2f));
            g.draw(line);
        } finally {
            g.dispose();
        }
        if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer in this JVM");
    }
}

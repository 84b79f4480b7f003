package dev.sparkautograd;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The import rules of docs/ARCHITECTURE.md, read from the library's sources: the local core (the tensor package,
 * then Tensor and its engine) sees nothing above it; the distributed layer sees the core only through its public
 * API and never the front classes; only the dist types the front classes and Spark's configuration need are public.
 */
class LayersTest {

    /** The core classes of the root package: the local tensor, its ops and engine, and the types they use. */
    static final Set<String> CORE_ROOT = Set.of("Tensor", "Autograd", "Engine", "Node", "Ops", "Hook", "BlockFunction", "BadDataException",
            "OutOfMemoryException");
    /** The front classes of the distributed layer (same package as Tensor, by the API contract). */
    static final Set<String> FRONT = Set.of("DistTensor", "DistData");
    static final Set<String> PUBLIC_DIST = Set.of("Block", "Expr", "Loader", "AutogradKryoRegistrator", "AutoStorageLevel");

    private static final Pattern IMPORT = Pattern.compile("(?m)^import (?:static )?(dev\\.sparkautograd\\.[\\w.]+);");

    static Path sources() {
        return Path.of(System.getProperty("sparkautograd.root", "..")).resolve("spark-autograd/src/main/java/dev/sparkautograd");
    }

    /** The source without comments and string literals, so only code is checked. */
    static String code(Path file) throws IOException {
        String s = Files.readString(file);
        s = s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
        return s.replaceAll("\"(?:\\\\.|[^\"\\\\])*\"", "\"\"");
    }

    static List<String> imports(String code) {
        List<String> out = new ArrayList<>();
        Matcher m = IMPORT.matcher(code);
        while (m.find()) out.add(m.group(1));
        return out;
    }

    private static List<Path> javaFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
    }

    private static String simpleName(Path p) {
        return p.getFileName().toString().replace(".java", "");
    }

    @Test
    void theTensorPackageImportsNothingAboveIt() throws IOException {
        List<String> bad = new ArrayList<>();
        for (Path f : javaFiles(sources().resolve("tensor"))) {
            for (String i : imports(code(f))) if (!i.startsWith("dev.sparkautograd.tensor.")) bad.add(simpleName(f) + " imports " + i);
        }
        assertEquals(List.of(), bad);
    }

    @Test
    void theCoreSeesNeitherTheDistributedLayerNorItsFrontClasses() throws IOException {
        List<String> bad = new ArrayList<>();
        for (Path f : javaFiles(sources())) {
            String name = simpleName(f);
            if (!CORE_ROOT.contains(name)) continue;
            String code = code(f);
            for (String i : imports(code)) if (!i.startsWith("dev.sparkautograd.tensor.")) bad.add(name + " imports " + i);
            for (String front : FRONT) if (Pattern.compile("\\b" + front + "\\b").matcher(code).find()) bad.add(name + " uses " + front);
        }
        assertEquals(List.of(), bad);
        Set<String> rootFiles = new TreeSet<>();
        for (Path f : javaFiles(sources())) rootFiles.add(simpleName(f));
        Set<String> unplaced = new TreeSet<>(rootFiles);
        unplaced.removeAll(CORE_ROOT);
        unplaced.removeAll(FRONT);
        assertEquals(Set.of(), unplaced, "root classes that belong to no layer (add them to the rule)");
    }

    @Test
    void theDistributedLayerSeesTheCoreOnlyAndNotTheFront() throws IOException {
        List<String> bad = new ArrayList<>();
        for (Path f : javaFiles(sources().resolve("dist"))) {
            for (String i : imports(code(f))) {
                boolean core = i.startsWith("dev.sparkautograd.tensor.") || i.startsWith("dev.sparkautograd.dist.")
                        || CORE_ROOT.contains(i.substring("dev.sparkautograd.".length()));
                if (!core) bad.add(simpleName(f) + " imports " + i);
            }
        }
        assertEquals(List.of(), bad);
    }

    @Test
    void onlyTheEntryPointsOfTheDistributedLayerArePublic() throws IOException {
        Set<String> published = new TreeSet<>();
        Pattern publicType = Pattern.compile("(?m)^public (?:final |abstract )*(?:class|interface|enum|record) (\\w+)");
        for (Path f : javaFiles(sources().resolve("dist"))) {
            Matcher m = publicType.matcher(code(f));
            while (m.find()) published.add(m.group(1));
        }
        assertEquals(new TreeSet<>(PUBLIC_DIST), published);
    }

    /** The rules can fail: a core file that imported dist would be caught by the same scan. */
    @Test
    void theScanSeesImportsAndUses() {
        String code = "package dev.sparkautograd;\nimport dev.sparkautograd.dist.Expr;\n// DistTensor in a comment\nclass X { DistData d; String s = \"DistTensor\"; }";
        String stripped = code.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ").replaceAll("\"(?:\\\\.|[^\"\\\\])*\"", "\"\"");
        assertEquals(List.of("dev.sparkautograd.dist.Expr"), imports(stripped));
        assertTrue(Pattern.compile("\\bDistData\\b").matcher(stripped).find());
        assertTrue(!Pattern.compile("\\bDistTensor\\b").matcher(stripped).find());
    }
}

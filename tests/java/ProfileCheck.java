// OWL 2 DL profile check with the OWL API (Debian's libowlapi-java 5.1.x): tests/test_owl_dl.py
// compiles and runs it. Usage: java ProfileCheck FILE...
// Loads each file (Turtle, N-Triples, RDF/XML: the OWL API picks the parser), prints the parser's
// unparsed triples and every OWL2DLProfile violation, one per line, then a summary line
// "FILE unparsed=N violations=M". Exit status 0 whatever the verdict (the test reads the lines);
// 2 when a file cannot be loaded.
import java.io.File;

import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.io.OWLParserException;
import org.semanticweb.owlapi.io.RDFTriple;
import org.semanticweb.owlapi.model.OWLDocumentFormat;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.model.OWLOntologyLoaderConfiguration;
import org.semanticweb.owlapi.model.OWLOntologyManager;
import org.semanticweb.owlapi.model.MissingImportHandlingStrategy;
import org.semanticweb.owlapi.io.FileDocumentSource;
import org.semanticweb.owlapi.profiles.OWL2DLProfile;
import org.semanticweb.owlapi.profiles.OWLProfileReport;
import org.semanticweb.owlapi.profiles.OWLProfileViolation;
import org.semanticweb.owlapi.formats.RDFDocumentFormat;

public final class ProfileCheck {
    public static void main(String[] args) throws Exception {
        int status = 0;
        for (String path : args) {
            OWLOntologyManager manager = OWLManager.createOWLOntologyManager();
            OWLOntologyLoaderConfiguration config = new OWLOntologyLoaderConfiguration()
                .setMissingImportHandlingStrategy(MissingImportHandlingStrategy.SILENT);
            OWLOntology ontology;
            try {
                ontology = manager.loadOntologyFromOntologyDocument(new FileDocumentSource(new File(path)), config);
            } catch (Exception e) {
                System.out.println("LOAD-ERROR\t" + path + "\t" + e.toString().replace('\n', ' '));
                status = 2;
                continue;
            }
            int unparsed = 0;
            OWLDocumentFormat format = manager.getOntologyFormat(ontology);
            if (format instanceof RDFDocumentFormat) {
                java.util.List<RDFTriple> triples = ((RDFDocumentFormat) format).getOntologyLoaderMetaData()
                    .map(m -> m.getUnparsedTriples().collect(java.util.stream.Collectors.toList()))
                    .orElse(java.util.Collections.emptyList());
                for (RDFTriple t : triples) {
                    System.out.println("UNPARSED\t" + t);
                    unparsed++;
                }
            }
            OWLProfileReport report = new OWL2DLProfile().checkOntology(ontology);
            int n = 0;
            for (OWLProfileViolation v : report.getViolations()) {
                System.out.println("VIOLATION\t" + v.getClass().getSimpleName() + "\t" + v.toString().replace('\n', ' '));
                n++;
            }
            System.out.println("SUMMARY\t" + path + "\tunparsed=" + unparsed + "\tviolations=" + n
                + "\taxioms=" + ontology.getAxiomCount());
        }
        System.exit(status);
    }
}

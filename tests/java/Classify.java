// Classify ontology + data with an OWL 2 DL reasoner through the OWL API (3.x, the version the
// HermiT and Pellet jars of the owlready2 package ship): tests/test_owl_dl.py compiles and runs it.
// Usage: java Classify hermit|pellet FILE NAMESPACE
// Prints "CONSISTENT true|false", one "UNSATISFIABLE <class>" per unsatisfiable named class,
// then one "TYPE <individual> <class>" per inferred type (direct or not) of every named
// individual, for the classes whose IRI starts with NAMESPACE.
// The reasoners run with their default configuration: HermiT's ignoreUnsupportedDatatypes stays
// false (printed as "CONFIG"), so a datatype outside OWL 2's datatype map is an error, not skipped.
import java.io.File;
import java.util.Set;
import java.util.TreeSet;

import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.model.OWLClass;
import org.semanticweb.owlapi.model.OWLNamedIndividual;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.model.OWLOntologyManager;
import org.semanticweb.owlapi.reasoner.OWLReasoner;
import org.semanticweb.owlapi.reasoner.OWLReasonerFactory;

public final class Classify {
    public static void main(String[] args) throws Exception {
        String which = args[0];
        File file = new File(args[1]);
        String namespace = args[2];
        OWLReasonerFactory factory;
        if (which.equals("hermit")) {
            Object config = Class.forName("org.semanticweb.HermiT.Configuration").getConstructor().newInstance();
            System.out.println("CONFIG ignoreUnsupportedDatatypes="
                + config.getClass().getField("ignoreUnsupportedDatatypes").get(config));
            factory = (OWLReasonerFactory) Class.forName("org.semanticweb.HermiT.Reasoner$ReasonerFactory")
                .getConstructor().newInstance();
        } else if (which.equals("pellet")) {
            factory = (OWLReasonerFactory) Class.forName("com.clarkparsia.pellet.owlapiv3.PelletReasonerFactory")
                .getMethod("getInstance").invoke(null);
        } else {
            throw new IllegalArgumentException("reasoner: hermit or pellet");
        }
        OWLOntologyManager manager = OWLManager.createOWLOntologyManager();
        OWLOntology ontology = manager.loadOntologyFromOntologyDocument(file);
        OWLReasoner reasoner = factory.createReasoner(ontology);
        boolean consistent = reasoner.isConsistent();
        System.out.println("CONSISTENT " + consistent);
        if (!consistent) {
            return;
        }
        for (OWLClass c : reasoner.getUnsatisfiableClasses().getEntitiesMinusBottom()) {
            System.out.println("UNSATISFIABLE " + c.getIRI());
        }
        Set<String> lines = new TreeSet<>();
        for (OWLNamedIndividual i : ontology.getIndividualsInSignature()) {
            for (OWLClass c : reasoner.getTypes(i, false).getFlattened()) {
                String iri = c.getIRI().toString();
                if (iri.startsWith(namespace)) {
                    lines.add("TYPE " + i.getIRI() + " " + iri);
                }
            }
        }
        for (String line : lines) {
            System.out.println(line);
        }
        reasoner.dispose();
    }
}

// Validate RDF files with a JavaScript SHACL engine, as its users run it; print one JSON report.
//
//   node validate.mjs <engine> <shapes.ttl> <jobs.json>
//
// engine: "shacl-engine" (with its SHACL-SPARQL plugin) or "rdf-validate-shacl" (SHACL Core only).
// jobs.json: [{"name": "...", "files": ["a.ttl", "b.nt", ...]}, ...]; each job's files are merged
// into one data graph and validated on its own. Output (stdout): {"<name>": {"conforms": bool,
// "results": [{focus, path, shape, component, severity, messages}]} | {"error": "..."}}, read from
// each engine's validation report graph (sh:result of the report), so both engines are read alike.
import { readFileSync } from 'node:fs'
import rdfDataModel from '@rdfjs/data-model'
import rdfDataset from '@rdfjs/dataset'
import { Parser } from 'n3'

const SH = 'http://www.w3.org/ns/shacl#'
// shacl-engine writes its report with the factory it is given, which must also make datasets
const factory = {
  namedNode: v => rdfDataModel.namedNode(v),
  blankNode: v => rdfDataModel.blankNode(v),
  literal: (v, l) => rdfDataModel.literal(v, l),
  variable: v => rdfDataModel.variable(v),
  defaultGraph: () => rdfDataModel.defaultGraph(),
  quad: (s, p, o, g) => rdfDataModel.quad(s, p, o, g),
  triple: (s, p, o) => rdfDataModel.quad(s, p, o),
  fromTerm: t => rdfDataModel.fromTerm(t),
  fromQuad: q => rdfDataModel.fromQuad(q),
  dataset: quads => rdfDataset.dataset(quads)
}
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type'

function load (files) {
  const dataset = rdfDataset.dataset()
  for (const file of files) {
    const format = file.endsWith('.nt') ? 'N-Triples' : 'Turtle'
    const parser = new Parser({ format, factory: rdfDataModel, baseIRI: 'file://' + file })
    for (const quad of parser.parse(readFileSync(file, 'utf8'))) {
      dataset.add(rdfDataModel.quad(quad.subject, quad.predicate, quad.object))
    }
  }
  return dataset
}

function term (t) {
  if (!t) return ''
  if (t.termType === 'NamedNode') return t.value
  if (t.termType === 'BlankNode') return '_:' + t.value
  return t.value
}

function objects (dataset, subject, predicate) {
  return [...dataset.match(subject, rdfDataModel.namedNode(SH + predicate), null)].map(q => q.object)
}

function read (dataset) {
  const [report] = [...dataset.match(null, rdfDataModel.namedNode(RDF_TYPE), rdfDataModel.namedNode(SH + 'ValidationReport'))]
  if (!report) throw new Error('no sh:ValidationReport in the report graph')
  const conforms = objects(dataset, report.subject, 'conforms').map(t => t.value)
  const results = objects(dataset, report.subject, 'result').map(r => {
    const [path] = objects(dataset, r, 'resultPath')
    return {
      focus: term(objects(dataset, r, 'focusNode')[0]),
      path: path && path.termType === 'NamedNode' ? path.value : (path ? '(complex)' : ''),
      shape: term(objects(dataset, r, 'sourceShape')[0]),
      component: term(objects(dataset, r, 'sourceConstraintComponent')[0]).replace(SH, ''),
      severity: term(objects(dataset, r, 'resultSeverity')[0]).replace(SH, ''),
      messages: objects(dataset, r, 'resultMessage').map(m => m.language ? `${m.value}@${m.language}` : m.value)
    }
  })
  return { conforms: conforms[0] === 'true', results }
}

async function validator (engine, shapes) {
  if (engine === 'shacl-engine') {
    const { Validator } = await import('shacl-engine')
    const { validations } = await import('shacl-engine/sparql.js')
    const v = new Validator(shapes, { factory, validations })
    return async data => read((await v.validate({ dataset: data })).dataset)
  }
  if (engine === 'rdf-validate-shacl') {
    const { default: SHACLValidator } = await import('rdf-validate-shacl')
    const v = new SHACLValidator(shapes)
    return async data => read((await v.validate(data)).dataset)
  }
  throw new Error(`unknown engine ${engine}`)
}

const [engine, shapesFile, jobsFile] = process.argv.slice(2)
const validate = await validator(engine, load([shapesFile]))
const out = {}
for (const job of JSON.parse(readFileSync(jobsFile, 'utf8'))) {
  try {
    out[job.name] = await validate(load(job.files))
  } catch (err) {
    out[job.name] = { error: String(err && err.stack ? err.stack : err) }
  }
}
process.stdout.write(JSON.stringify(out) + '\n')

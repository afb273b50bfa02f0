//! regorus: the rules in Rego, run by the interpreter and by the RVM.

use crate::data::{Decision, Record};
use crate::engines::Engine;
use anyhow::{Context, Result, anyhow};
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;
use regorus::{Rc, Value};
use std::borrow::Cow;
use std::sync::Arc;

const ENTRY: &str = "data.brand_safety.verdict";

/// The policy, its data and its RVM program.
pub struct Policy {
    text: String,
    data: Value,
    program: Arc<Program>,
}

// regorus values are reference-counted with `Arc` (the `arc` feature), so a
// `Policy` may be shared by the threads.
impl Policy {
    pub fn new(text: &str, banned: &[String]) -> Result<Self> {
        let data = Value::from_json_str(&serde_json::json!({ "banned": banned }).to_string())?;
        let mut engine = Self::engine_with(text, &data)?;
        let compiled = engine.compile_with_entrypoint(&Rc::from(ENTRY))?;
        let program = Compiler::compile_from_policy(&compiled, &[ENTRY])
            .map_err(|e| anyhow!("compiling for the RVM: {e}"))?;
        Ok(Self {
            text: text.to_string(),
            data,
            program,
        })
    }

    fn engine_with(text: &str, data: &Value) -> Result<regorus::Engine> {
        let mut engine = regorus::Engine::new();
        engine.add_policy("brand_safety.rego".to_string(), text.to_string())?;
        engine.add_data(data.clone())?;
        Ok(engine)
    }

    pub fn interpreter(&self) -> Result<Interpreter> {
        Ok(Interpreter {
            engine: Self::engine_with(&self.text, &self.data)?,
            inputs: Vec::new(),
        })
    }

    pub fn rvm(&self) -> Result<Rvm> {
        let mut vm = RegoVM::new();
        vm.load_program(self.program.clone());
        vm.set_data(self.data.clone())
            .map_err(|e| anyhow!("RVM data: {e}"))?;
        Ok(Rvm {
            vm,
            inputs: Vec::new(),
        })
    }
}

fn inputs(records: &[Record]) -> Result<Vec<Value>> {
    records
        .iter()
        .map(|r| Value::from_json_str(&serde_json::to_string(r)?))
        .collect()
}

fn decision(v: &Value) -> Result<Decision> {
    let verdict = v["verdict"].as_string().context("no verdict")?;
    let rules = v["rules"]
        .as_array()
        .context("no rules")?
        .iter()
        .map(|r| Ok(Cow::Owned(r.as_string()?.to_string())))
        .collect::<Result<_>>()?;
    Decision::named(verdict, rules)
}

/// The regorus interpreter with the policy loaded.
pub struct Interpreter {
    engine: regorus::Engine,
    inputs: Vec<Value>,
}

impl Engine for Interpreter {
    fn prepare(&mut self, records: &[Record]) -> Result<()> {
        self.inputs = inputs(records)?;
        Ok(())
    }

    fn decide(&mut self, i: usize) -> Result<Decision> {
        self.engine.set_input(self.inputs[i].clone());
        decision(&self.engine.eval_rule(ENTRY.to_string())?)
    }
}

/// The RVM with the compiled program loaded.
pub struct Rvm {
    vm: RegoVM,
    inputs: Vec<Value>,
}

impl Engine for Rvm {
    fn prepare(&mut self, records: &[Record]) -> Result<()> {
        self.inputs = inputs(records)?;
        Ok(())
    }

    fn decide(&mut self, i: usize) -> Result<Decision> {
        self.vm.set_input(self.inputs[i].clone());
        let v = self
            .vm
            .execute_entry_point_by_name(ENTRY)
            .map_err(|e| anyhow!("RVM: {e}"))?;
        decision(&v)
    }
}

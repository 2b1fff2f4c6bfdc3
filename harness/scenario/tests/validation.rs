//! Bad scenario files are rejected with the place and a way out.

use std::path::Path;

use socklab_scenario::{Action, ExitExpect, Origin, parse_scenario_file};

fn errors(source: &str) -> String {
    match parse_scenario_file(Path::new("suite.yaml"), source, None) {
        Ok(_) => panic!("expected errors for:\n{source}"),
        Err(d) => d.to_string(),
    }
}

const GOOD: &str = r#"
scenarios:
  - name: lottery/basic
    points: 4
    hosts: [server, client]
    ports: { lottery: auto, daytime: 13 }
    fixtures:
      small: { text: "hello" }
      big: { random: 1048576, seed: 7 }
    matrix:
      server: [submission, reference]
    steps:
      - start: srv
        program: LotteryServer
        from: "{{matrix.server}}"
        host: server
        args: ["{{ports.lottery}}"]
      - wait_listen: srv
        port: "{{ports.lottery}}"
      - connect: p
        host: client
        to: "{{hosts.server}}:{{ports.lottery}}"
      - repeat: 6
        steps:
          - send: p
            int32: 0
          - recv: p
            message: 'New number generated: (?P<n>\d+)'
            hint: "reply with the exact text"
      - assert: n
        count: 6
        distinct: true
        range: [1, 45]
      - send: p
        hex: "02 00 00 00"
      - recv: p
        eof: true
      - exit: srv
        code: 0
        within: 2s
"#;

#[test]
fn a_good_file_loads_and_expands_its_matrix() {
    let file = parse_scenario_file(Path::new("suite.yaml"), GOOD, None).unwrap();
    let names: Vec<&str> = file.scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "lottery/basic[server=submission]",
            "lottery/basic[server=reference]"
        ]
    );
    let origins: Vec<Origin> = file
        .scenarios
        .iter()
        .map(|s| match &s.steps[0].action {
            Action::Start(spec) => spec.origin.clone(),
            other => panic!("first step is {other:?}"),
        })
        .collect();
    assert_eq!(origins, [Origin::Submission, Origin::Reference]);
    let last = file.scenarios[0].steps.last().unwrap();
    assert!(matches!(
        last.action,
        Action::Exit {
            expect: ExitExpect::Code(0),
            ..
        }
    ));
    assert_eq!(last.meta.within, std::time::Duration::from_secs(2));
    assert_eq!(file.scenarios[0].fixed_ports(), vec![13]);
}

#[test]
fn unknown_key_names_line_column_and_suggests() {
    let text = errors("scenarios:\n  - name: a\n    stpes: []\n");
    assert!(text.contains("suite.yaml:3:5"), "{text}");
    assert!(text.contains("unknown field `stpes`"), "{text}");
    assert!(text.contains("did you mean `steps`?"), "{text}");
}

#[test]
fn parameter_of_another_action_is_rejected_with_the_valid_ones() {
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - connect: p\n        to: \"x:1\"\n      - send: p\n        port: 3\n",
    );
    assert!(text.contains("`port` does not apply to `send`"), "{text}");
    assert!(text.contains("suite.yaml:7:15"), "{text}");
    assert!(
        text.contains("`send` takes: text, line, hex, int32, endian, fixture"),
        "{text}"
    );
}

#[test]
fn wrong_type_is_located() {
    let text = errors("scenarios:\n  - name: a\n    points: lots\n    steps: []\n");
    assert!(text.contains("suite.yaml:3:13"), "{text}");
}

#[test]
fn bad_placeholder_lists_what_exists() {
    let text = errors(
        "scenarios:\n  - name: a\n    ports: { lottery: auto }\n    steps:\n      - connect: p\n        to: \"127.0.0.1:{{ports.lotery}}\"\n",
    );
    assert!(
        text.contains("placeholder `{{ports.lotery}}` refers to nothing declared"),
        "{text}"
    );
    assert!(text.contains("did you mean `{{ports.lottery}}`?"), "{text}");
    assert!(text.contains("suite.yaml:6:13"), "{text}");

    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - connect: p\n        to: \"{{port.x}}\"\n",
    );
    assert!(text.contains("unknown placeholder `{{port.x}}`"), "{text}");
    assert!(text.contains("did you mean `ports`?"), "{text}");
}

#[test]
fn undeclared_program_peer_and_host_are_named() {
    let text = errors(
        "scenarios:\n  - name: a\n    hosts: [server]\n    steps:\n      - start: srv\n        program: X\n        host: sever\n      - expect: cli\n        text: hi\n      - send: q\n        text: hi\n",
    );
    assert!(
        text.contains("`sever` is not a host in this scenario"),
        "{text}"
    );
    assert!(text.contains("did you mean `server`?"), "{text}");
    assert!(text.contains("`cli` is not a started program"), "{text}");
    assert!(text.contains("`q` is not a peer"), "{text}");
    assert!(text.contains("3 problems found"), "{text}");
}

#[test]
fn two_actions_in_one_step() {
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - start: s\n        program: X\n        expect: s\n",
    );
    assert!(
        text.contains("step has two actions, `start` and `expect`"),
        "{text}"
    );
}

#[test]
fn bad_values_get_fixes() {
    let text = errors(
        "scenarios:\n  - name: a\n    timeout: soon\n    ports: { p: 70000 }\n    steps:\n      - start: s\n        program: X\n        stdin: tty\n      - exit: s\n        signal: SIGFOO\n      - expect: s\n        regex: '(unclosed'\n",
    );
    assert!(text.contains("`soon` is not a duration"), "{text}");
    assert!(
        text.contains("port `p` has value `70000`, which is not a port"),
        "{text}"
    );
    assert!(text.contains("`stdin: tty` is not a stdin mode"), "{text}");
    assert!(text.contains("`SIGFOO` is not a signal name"), "{text}");
    assert!(text.contains("invalid regex `(unclosed`"), "{text}");
}

#[test]
fn yaml_syntax_errors_are_located() {
    let text = errors("scenarios: [\n");
    assert!(text.contains("suite.yaml:1:"), "{text}");
}

#[test]
fn duplicate_scenario_names_and_keys() {
    let text = errors("scenarios:\n  - name: a\n    steps: []\n  - name: a\n    steps: []\n");
    assert!(text.contains("scenario name `a` is used twice"), "{text}");
    let text = errors("scenarios:\n  - name: a\n    name: b\n    steps: []\n");
    assert!(text.contains("duplicate"), "{text}");
}

#[test]
fn unknown_key_in_a_step_suggests_among_that_actions_parameters() {
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - start: s\n        program: P\n        prot: 3\n",
    );
    assert!(
        text.contains("unknown key `prot` in a `start` step"),
        "{text}"
    );
    assert!(text.contains("suite.yaml:6:9"), "{text}");
    assert!(
        text.contains("did you mean `port`?")
            || text.contains("a `start` step takes: program, from"),
        "{text}"
    );
    assert!(
        !text.contains("concurrently"),
        "only the keys that fit: {text}"
    );
}

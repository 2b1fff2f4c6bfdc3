//! Bad scenario files are rejected with the place and a way out.

use std::path::Path;

use std::collections::BTreeMap;

use socklab_scenario::{
    Action, ExitExpect, Fixture, LabContext, Origin, OutputStream, StdinMode, parse_scenario_file,
};

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

#[test]
fn repeat_is_capped_and_must_repeat_something() {
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - connect: c\n        to: \"x:1\"\n      - repeat: 2000000\n        steps:\n          - close: c\n",
    );
    assert!(text.contains("suite.yaml:6:17"), "{text}");
    assert!(
        text.contains("`repeat: 2000000` is too many rounds; at most 10000"),
        "{text}"
    );
    assert!(text.contains("help: every round is checked"), "{text}");

    // Nested repeats multiply.
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - connect: c\n        to: \"x:1\"\n      - repeat: 200\n        steps:\n          - repeat: 100\n            steps:\n              - close: c\n",
    );
    assert!(
        text.contains(
            "`repeat: 100` is too many rounds (inside repeats of 200 rounds, 20000 in all)"
        ),
        "{text}"
    );

    let text =
        errors("scenarios:\n  - name: a\n    steps:\n      - repeat: 3\n        steps: []\n");
    assert!(text.contains("`repeat` has no steps to repeat"), "{text}");
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - repeat: 0\n        steps: [ { title: x } ]\n",
    );
    assert!(text.contains("`repeat: 0` runs its steps never"), "{text}");

    // The cap itself is allowed.
    parse_scenario_file(
        Path::new("suite.yaml"),
        "scenarios:\n  - name: a\n    steps:\n      - connect: c\n        to: \"x:1\"\n      - repeat: 10000\n        steps:\n          - close: c\n",
        None,
    )
    .unwrap();
}

#[test]
fn a_scenario_without_steps_is_rejected() {
    let text = errors("scenarios:\n  - name: free/points\n    points: 10\n    steps: []\n");
    assert!(text.contains("suite.yaml:2:11"), "{text}");
    assert!(
        text.contains("scenario `free/points` has no steps"),
        "{text}"
    );
    assert!(text.contains("would earn its points for nothing"), "{text}");
}

#[test]
fn wrong_types_say_what_the_key_expects() {
    let text = errors("scenarios:\n  - name: a\n    points: three\n    steps:\n      - close: c\n");
    assert!(text.contains("suite.yaml:3:13"), "{text}");
    assert!(
        text.contains("`points` expects a number of points ≥ 0, but the value is `three`"),
        "{text}"
    );
    assert!(text.contains("help: write e.g. `points: 3`"), "{text}");
    assert!(!text.contains("floating point"), "{text}");

    let text =
        errors("scenarios:\n  - name: a\n    steps:\n      - repeat: many\n        steps: []\n");
    assert!(text.contains("suite.yaml:4:17"), "{text}");
    assert!(
        text.contains(
            "`repeat` expects a whole number of rounds from 1 to 10000, but the value is `many`"
        ),
        "{text}"
    );
    assert!(text.contains("help: write e.g. `repeat: 6`"), "{text}");

    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - connect: c\n        to: \"x:1\"\n        refused: maybe\n",
    );
    assert!(
        text.contains("`refused` expects `true` or `false`, but the value is `maybe`"),
        "{text}"
    );
}

#[test]
fn a_misspelt_action_lists_the_actions_only() {
    let text =
        errors("scenarios:\n  - name: a\n    steps:\n      - strat: s\n        program: P\n");
    assert!(text.contains("suite.yaml:4:9"), "{text}");
    assert!(text.contains("unknown key `strat`"), "{text}");
    assert!(text.contains("did you mean `start`?"), "{text}");
    assert!(
        text.contains("a step starts with one action: start, wait_listen, type"),
        "{text}"
    );
    // Parameters are not listed (neither in the message nor in the help).
    assert!(!text.contains("in_process"), "{text}");
    assert!(!text.contains("not_contains"), "{text}");
}

#[test]
fn expect_of_empty_text_is_rejected() {
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - start: s\n        program: P\n      - expect: s\n        text: \"\"\n",
    );
    assert!(text.contains("suite.yaml:7:15"), "{text}");
    assert!(
        text.contains("`expect` with `text: \"\"` waits for nothing"),
        "{text}"
    );
    assert!(text.contains("use `output:` with `text: \"\"`"), "{text}");
}

const WHEN: &str = r#"
scenarios:
  - name: echo/short-line
    when: { echo_mode: echo }
    steps:
      - connect: c
        to: "127.0.0.1:9877"
  - name: echo/short-line
    when: { echo_mode: sum }
    steps:
      - connect: c
        to: "127.0.0.1:9877"
"#;

#[test]
fn when_selects_by_course_option_and_lets_variants_share_a_name() {
    let options: BTreeMap<String, String> = [("echo_mode".to_string(), "sum".to_string())].into();
    let lab = LabContext::with_options(options.clone());
    let file = parse_scenario_file(Path::new("suite.yaml"), WHEN, Some(&lab)).unwrap();
    let applying: Vec<_> = file
        .scenarios
        .iter()
        .filter(|s| s.applies_to(Some(&options)))
        .map(|s| s.when.clone())
        .collect();
    assert_eq!(applying.len(), 1);
    assert_eq!(applying[0]["echo_mode"], "sum");
    // Without a manifest no option has a value: neither variant belongs.
    assert!(file.scenarios.iter().all(|s| !s.applies_to(None)));

    // Variants whose conditions overlap may not share a name.
    let overlapping = WHEN.replace("{ echo_mode: sum }", "{ echo_mode: echo }");
    let text = errors(&overlapping);
    assert!(
        text.contains("scenario name `echo/short-line` is used twice"),
        "{text}"
    );
}

#[test]
fn when_names_only_options_of_the_manifest() {
    let options: BTreeMap<String, String> = [
        ("echo_mode".to_string(), "echo".to_string()),
        ("ft_iterative".to_string(), "marker".to_string()),
    ]
    .into();
    let source =
        "scenarios:\n  - name: a\n    when: { echo_mod: sum }\n    steps:\n      - close: c\n";
    let lab = LabContext::with_options(options);
    let text = match parse_scenario_file(Path::new("suite.yaml"), source, Some(&lab)) {
        Ok(_) => panic!("unknown option accepted"),
        Err(d) => d.to_string(),
    };
    assert!(text.contains("suite.yaml:3:23"), "{text}");
    assert!(
        text.contains(
            "`when:` names course option `echo_mod`, which the lab manifest does not define"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "did you mean `echo_mode`? options in the lab manifest: echo_mode, ft_iterative"
        ),
        "{text}"
    );
    let text = errors("scenarios:\n  - name: a\n    when: {}\n    steps:\n      - close: c\n");
    assert!(text.contains("`when:` names no course option"), "{text}");
}

#[test]
fn stdin_from_a_fixture() {
    let source = "scenarios:\n  - name: a\n    fixtures: { input: { text: \"2 5\\n\", times: 3 } }\n    steps:\n      - start: s\n        program: P\n        stdin: { fixture: input }\n";
    let file = parse_scenario_file(Path::new("suite.yaml"), source, None).unwrap();
    let Action::Start(spec) = &file.scenarios[0].steps[0].action else {
        panic!("not a start step");
    };
    assert_eq!(spec.stdin, StdinMode::Fixture("input".into()));
    assert_eq!(
        file.scenarios[0].fixtures["input"],
        Fixture::Bytes(b"2 5\n2 5\n2 5\n".to_vec())
    );

    let text = errors(
        "scenarios:\n  - name: a\n    fixtures: { input: { text: x } }\n    steps:\n      - start: s\n        program: P\n        stdin: { fixture: inptu }\n",
    );
    assert!(text.contains("suite.yaml:7:16"), "{text}");
    assert!(
        text.contains("`inptu` is not a fixture in this scenario"),
        "{text}"
    );
    assert!(text.contains("did you mean `input`?"), "{text}");
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - start: s\n        program: P\n        stdin: { file: x }\n",
    );
    assert!(text.contains("unknown field `file`"), "{text}");
    assert!(text.contains("valid keys here: fixture"), "{text}");
}

#[test]
fn output_may_look_at_any_stream_but_expect_may_not() {
    let source = "scenarios:\n  - name: a\n    steps:\n      - start: s\n        program: P\n      - output: s\n        regex: '(?i)usage'\n        stream: any\n";
    let file = parse_scenario_file(Path::new("suite.yaml"), source, None).unwrap();
    assert!(matches!(
        file.scenarios[0].steps[1].action,
        Action::Output {
            stream: OutputStream::Any,
            ..
        }
    ));
    let text = errors(&source.replace("output: s\n        regex", "expect: s\n        regex"));
    assert!(text.contains("`stream: any` is not a stream"), "{text}");
    assert!(text.contains("write `stdout` or `stderr`"), "{text}");
}

#[test]
fn stdin_null_unquoted_is_the_null_mode() {
    let stdin_of = |line: &str| {
        let source = format!(
            "scenarios:\n  - name: a\n    steps:\n      - start: s\n        program: P\n{line}"
        );
        let file = parse_scenario_file(Path::new("suite.yaml"), &source, None).unwrap();
        let Action::Start(spec) = &file.scenarios[0].steps[0].action else {
            panic!("not a start step");
        };
        spec.stdin.clone()
    };
    assert_eq!(stdin_of("        stdin: null\n"), StdinMode::Null);
    assert_eq!(stdin_of("        stdin: 'null'\n"), StdinMode::Null);
    assert_eq!(stdin_of("        stdin: pipe\n"), StdinMode::Pipe);
    assert_eq!(stdin_of(""), StdinMode::Pty, "the default");
}

#[test]
fn an_unknown_key_is_explained_by_its_steps_action_wherever_it_is_written() {
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - { connect: c, to: \"x:1\", prot: 3 }\n      - program: P\n        start: s\n        prot: 3\n      - close: q\n",
    );
    // In a flow mapping, and where the action key is not the first key.
    assert!(
        text.contains("unknown key `prot` in a `connect` step"),
        "{text}"
    );
    assert!(text.contains("suite.yaml:4:34"), "{text}");
    assert!(
        text.contains("a `connect` step takes: to, host, refused"),
        "{text}"
    );
    assert!(
        text.contains("unknown key `prot` in a `start` step"),
        "{text}"
    );
    assert!(text.contains("suite.yaml:7:9"), "{text}");
    // Reported with the file's other problems, not instead of them.
    assert!(text.contains("`q` is not a peer"), "{text}");
    assert!(text.contains("3 problems found"), "{text}");
}

#[test]
fn a_list_or_mapping_that_does_not_apply_is_shown_where_it_is_written() {
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - connect: c\n        to: \"x:1\"\n      - close: c\n        args: [x]\n",
    );
    assert!(text.contains("`args` does not apply to `close`"), "{text}");
    assert!(text.contains("suite.yaml:7:15"), "{text}");
}

/// The lab of the program-name tests: one program, `LotteryServer`.
fn lottery_lab() -> LabContext {
    LabContext {
        options: BTreeMap::new(),
        programs: Some(["LotteryServer".to_string()].into()),
    }
}

fn errors_in_lab(source: &str, lab: &LabContext) -> String {
    match parse_scenario_file(Path::new("suite.yaml"), source, Some(lab)) {
        Ok(_) => panic!("expected errors for:\n{source}"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn a_misspelt_program_of_the_lab_is_an_error_at_its_place() {
    let source = "scenarios:\n  - name: a\n    steps:\n      - start: srv\n        program: LoteryServer\n        args: [\"1\"]\n";
    let text = errors_in_lab(source, &lottery_lab());
    assert!(
        text.contains("`program: LoteryServer` is not a program of the lab"),
        "{text}"
    );
    assert!(text.contains("suite.yaml:5:18"), "{text}");
    assert!(text.contains("did you mean `LotteryServer`?"), "{text}");
    // Without the lab the name cannot be checked.
    parse_scenario_file(Path::new("suite.yaml"), source, None).unwrap();
    // Spelt right, it passes.
    let right = source.replace("LoteryServer", "LotteryServer");
    parse_scenario_file(Path::new("suite.yaml"), &right, Some(&lottery_lab())).unwrap();
}

#[test]
fn program_names_are_checked_where_the_submission_runs_them() {
    // A reference program is not the lab's to name.
    let reference = "scenarios:\n  - name: a\n    steps:\n      - start: srv\n        program: lottery-server\n        from: reference\n";
    parse_scenario_file(Path::new("suite.yaml"), reference, Some(&lottery_lab())).unwrap();
    // A matrix that runs the submission's program in some cell is checked.
    let matrix = "scenarios:\n  - name: a\n    matrix:\n      server: [submission, reference]\n    steps:\n      - start: srv\n        program: LotteryServr\n        from: \"{{matrix.server}}\"\n";
    let text = errors_in_lab(matrix, &lottery_lab());
    assert!(text.contains("suite.yaml:7:18"), "{text}");
    assert!(text.contains("did you mean `LotteryServer`?"), "{text}");
    // One that never does is not.
    let only_reference = matrix
        .replace("[submission, reference]", "[reference]")
        .replace("LotteryServr", "lottery-server");
    parse_scenario_file(
        Path::new("suite.yaml"),
        &only_reference,
        Some(&lottery_lab()),
    )
    .unwrap();
}

#[test]
fn yaml_structure_errors_get_a_hint_in_plain_words() {
    // A step indented under the previous one.
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - start: p\n        program: hello\n        - exit: p\n          code: 0\n",
    );
    assert!(text.contains("suite.yaml:6:11"), "{text}");
    assert!(
        text.contains("this list item is indented deeper than `- start: p` on line 4"),
        "{text}"
    );
    assert!(
        text.contains("a new step lines up with the step before it"),
        "{text}"
    );

    // A tab: the parser points at the line before; the hint at the tab.
    let text = errors("scenarios:\n  - name: a\n    steps:\n      - start: p\n\tprogram: hello\n");
    assert!(text.contains("suite.yaml:5:1"), "{text}");
    assert!(
        text.contains("line 5 is indented with a tab: YAML indents with spaces only"),
        "{text}"
    );

    // A missing `-`.
    let text = errors(
        "scenarios:\n  - name: a\n    steps:\n      - start: p\n        program: hello\n      exit: p\n",
    );
    assert!(text.contains("suite.yaml:6:7"), "{text}");
    assert!(
        text.contains("start it with `- ` (`- exit: p`) to make it a new item"),
        "{text}"
    );
    let text = errors("scenarios:\n  - name: a\n    steps:\n      start: p\n");
    assert!(
        text.contains(
            "`steps:` (line 3) holds a list: start each item with `- `, e.g. `- start: p`"
        ),
        "{text}"
    );

    // A key indented deeper than its neighbours.
    let text =
        errors("scenarios:\n  - name: a\n    steps:\n      - start: p\n          program: hello\n");
    assert!(text.contains("suite.yaml:5:11"), "{text}");
    assert!(
        text.contains(
            "this key is indented deeper than `- start: p` on line 4 (column 11 against 9)"
        ),
        "{text}"
    );
}

#[test]
fn a_packets_step_names_its_connection_and_what_it_checks() {
    let good = r#"
scenarios:
  - name: p
    ports: { lottery: auto }
    steps:
      - start: srv
        program: LotteryServer
      - connect: c
        to: "127.0.0.1:{{ports.lottery}}"
      - packets: c
        handshake: true
        client_sends: 4
        no_nul: both
        first_fin: client
        no_rst: true
      - packets: srv
        to: "127.0.0.1:{{ports.lottery}}"
        server_records: 260
"#;
    let file = parse_scenario_file(Path::new("suite.yaml"), good, None).unwrap();
    let steps = &file.scenarios[0].steps;
    let Action::Packets { of, checks } = &steps[2].action else {
        panic!("{:?}", steps[2].action);
    };
    assert_eq!(of, &socklab_scenario::PacketsOf::Peer("c".to_string()));
    assert!(checks.handshake && checks.no_rst);
    assert_eq!(checks.client_sends, Some(4));
    assert_eq!(checks.no_nul.len(), 2);
    assert_eq!(
        checks.first_fin,
        Some(socklab_scenario::ConnectionSide::Client)
    );
    assert_eq!(
        steps[2].action.default_title(),
        "`c`'s connection: the handshake completes, the client sends 4-byte segments, no NUL from either side, the client closes first, no RST"
    );
    let Action::Packets { of, checks } = &steps[3].action else {
        panic!();
    };
    assert!(matches!(of, socklab_scenario::PacketsOf::Program { program, .. } if program == "srv"));
    assert_eq!(checks.server_records, Some(260));
    assert!(steps[3].action.is_check());

    let bad = |step: &str| {
        errors(&format!(
            "scenarios:\n  - name: p\n    ports: {{ lottery: auto }}\n    steps:\n      - start: srv\n        program: X\n      - connect: c\n        to: \"127.0.0.1:1\"\n{step}"
        ))
    };
    let text = bad("      - packets: c\n        title: nothing\n");
    assert!(
        text.contains("this `packets` step checks nothing"),
        "{text}"
    );
    assert!(
        text.contains("add one or more of: handshake, client_sends"),
        "{text}"
    );
    let text = bad("      - packets: d\n        no_rst: true\n");
    assert!(
        text.contains("`d` is neither a peer nor a program in this scenario"),
        "{text}"
    );
    assert!(text.contains("did you mean `c`?"), "{text}");
    let text = bad("      - packets: srv\n        no_rst: true\n");
    assert!(
        text.contains("`packets: srv` names a program: say which of its connections with `to:`"),
        "{text}"
    );
    let text = bad("      - packets: c\n        to: \"127.0.0.1:1\"\n        no_rst: true\n");
    assert!(text.contains("`c` is socklab's peer"), "{text}");
    let text = bad("      - packets: c\n        first_fin: both\n");
    assert!(
        text.contains("`first_fin: both` is not a side of the connection"),
        "{text}"
    );
    assert!(text.contains("write `client` or `server`"), "{text}");
    let text = bad("      - packets: c\n        no_nul: srv\n");
    assert!(
        text.contains("write `client`, `server` or `both`"),
        "{text}"
    );
    let text = bad("      - packets: c\n        client_sends: 0\n");
    assert!(
        text.contains("`client_sends: 0` is not a size a segment can have"),
        "{text}"
    );
    let text = bad("      - packets: c\n        handshake: false\n");
    assert!(text.contains("`handshake: false` checks nothing"), "{text}");
    // Every problem has its place.
    let text = bad("      - packets: c\n        first_fin: cleint\n");
    assert!(text.contains("suite.yaml:10:20"), "{text}");
}

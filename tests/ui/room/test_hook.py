"""ui.room.hook: the lecture room inside the real app (AppTest runs navigation.py): a lecturer and
students in separate sessions sharing one room file."""

from __future__ import annotations

import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SHARED_DATA
from tests.popovers_open import popovers_open  # noqa: F401 - autouse: popovers open
from ui.room import student as student_side
from ui.room.hook import ROOM_OPEN

ARITHMETIC = "app_pages/convolution_arithmetic.py"


def open_app(**query) -> AppTest:
    app = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=90)
    for name, value in query.items():
        app.query_params[name] = value
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def everything_shown(app: AppTest) -> str:
    """Every text element of the page and the sidebar, for 'what does this person see'."""
    parts = [m.value for m in app.markdown] + [m.value for m in app.sidebar.markdown]
    for kind in ("error", "warning", "info", "success", "caption"):
        parts += [e.value for e in app.get(kind)]
    return "\n".join(str(part) for part in parts)


def send(app: AppTest) -> None:
    """Press "Send my answer" on the question card."""
    [button] = [b for b in app.button if b.label == "Send my answer"]
    button.click().run()
    assert not app.exception, [e.message for e in app.exception]


def open_room_section(app: AppTest) -> None:
    """Open the sidebar's "Lecture room" section, as a visitor's click does."""
    app.session_state[ROOM_OPEN] = True
    app.run()
    assert not app.exception, [e.message for e in app.exception]


def present(app: AppTest) -> str:
    open_room_section(app)
    app.sidebar.button(key="room.start").click().run()
    assert not app.exception, [e.message for e in app.exception]
    return app.session_state["room.code"]


def sidebar_labels(app: AppTest) -> list[str]:
    return [button.label for button in app.sidebar.button]


def test_the_folded_room_section_builds_nothing_until_opened():
    """Folded for almost every visitor: no join form for the browser to draw."""
    app = open_app()
    [section] = [e for e in app.sidebar.expander if e.label == "Lecture room"]
    assert not section.children  # the label only
    assert not [b for b in sidebar_labels(app) if "room" in b]
    assert not [t for t in app.sidebar.text_input if t.key == "room.code_typed"]
    open_room_section(app)
    assert "Present to a room" in sidebar_labels(app)
    assert "Join a room" in sidebar_labels(app)
    assert app.sidebar.text_input(key="room.code_typed").label == "Room code"


def test_every_page_offers_to_present_or_join():
    app = open_app()
    open_room_section(app)
    labels = sidebar_labels(app)
    assert "Present to a room" in labels and "Join a room" in labels
    # A browser sends the open section's state with the page change; AppTest sends none.
    app.session_state[ROOM_OPEN] = True
    app.switch_page(ARITHMETIC).run()
    assert "Present to a room" in sidebar_labels(app)


def test_presenting_opens_a_room_and_shows_its_code_large_with_a_qr(rooms):
    app = open_app()
    code = present(app)
    assert rooms.read_room(code) is not None
    assert f"Presenting to room **{code}**" in everything_shown(app)
    dialog = app._tree.children[2]  # what st.dialog shows, above the page
    assert any(code in html.proto.body for html in dialog.get("html"))  # the code, large
    assert dialog.get("code")[0].value.endswith(f"/?room={code}")
    assert len(dialog.get("image")) == 1  # the QR code


def test_the_lecturers_page_goes_to_the_room_after_it_runs(rooms):
    app = open_app()
    code = present(app)
    app.switch_page(ARITHMETIC).run()
    state = rooms.read_room(code)
    assert state.page == "convolution_arithmetic"
    assert "room" not in state.params


def test_a_join_link_makes_a_student_follow_the_lecturers_page(rooms):
    lecturer = open_app()
    code = present(lecturer)
    lecturer.switch_page(ARITHMETIC).run()
    student = open_app(room=code.lower())
    assert student.session_state["room.joined"] == code
    assert [t.value for t in student.title] == ["Convolution Arithmetic"]
    assert "Following the lecturer" in everything_shown(student)
    # The room's parameter is the room's: no page calls it unknown.
    assert not [w for w in student.warning if "room" in w.value]
    assert rooms.count_followers(code) == (1, 0)


def test_a_late_request_from_the_browser_cannot_undo_a_follow(rooms):
    """The lost follow: a request the student's browser sent before a follow reached it
    (its widget values of before) ran after the follow and put the old value back; the
    page counted the change as shown and never followed it again."""
    lecturer = open_app()
    code = present(lecturer)
    lecturer.switch_page(ARITHMETIC).run()
    student = open_app(room=code)
    before = student.number_input(key="arith.stride_rows").value
    late = student._tree.get_widget_states()  # what the browser holds before the change
    lecturer.number_input(key="arith.stride_rows").set_value(before + 1).run()
    assert rooms.read_room(code).params["s"].startswith(str(before + 1))
    student.run()  # the poll follows the lecturer
    assert student.number_input(key="arith.stride_rows").value == before + 1
    student._run(widget_state=late)  # the late request arrives
    assert not student.exception, [e.message for e in student.exception]
    student.run()  # the next poll: the page has drifted from the follow
    time.sleep(student_side.DRIFT_SECONDS)
    student.run()  # still drifted: follow again
    assert student.number_input(key="arith.stride_rows").value == before + 1
    assert [t.value for t in student.title] == ["Convolution Arithmetic"]
    assert student.query_params["room"] == code


def test_a_bad_join_link_says_what_to_do():
    app = open_app(room="ZZZZZZ")
    shown = everything_shown(app)
    assert "There is no open room ZZZZZZ" in shown
    assert "Check the code with your lecturer" in shown
    assert "room.joined" not in app.session_state
    assert "room" not in app.query_params


def join_button(app: AppTest):
    [button] = [b for b in app.sidebar.button if b.label == "Join a room"]
    return button


def test_joining_with_a_typed_code(rooms):
    keys = rooms.create_room()
    app = open_app()
    open_room_section(app)
    app.sidebar.text_input(key="room.code_typed").input("not a code")
    join_button(app).click().run()
    assert "A room code is 6 letters and digits" in everything_shown(app)
    assert "room.joined" not in app.session_state
    app.sidebar.text_input(key="room.code_typed").input(keys.code.lower())
    join_button(app).click().run()
    assert app.session_state["room.joined"] == keys.code
    assert "In room" in everything_shown(app)


def test_a_student_who_leaves_sees_the_note_under_the_folded_section(rooms):
    lecturer = open_app()
    code = present(lecturer)
    student = open_app(room=code)  # joined by the link: the section opens by itself
    assert "Leave the room" in sidebar_labels(student)
    student.sidebar.button(key="room.leave").click().run()
    assert "room.joined" not in student.session_state
    [section] = [e for e in student.sidebar.expander if e.label == "Lecture room"]
    assert not section.children and not section.proto.expanded  # folded again
    assert "You left the room." in [i.value for i in student.sidebar.info]


def test_explore_on_my_own_then_follow_again(rooms):
    lecturer = open_app()
    code = present(lecturer)
    student = open_app(room=code)
    student.button(key="room.detach").click().run()
    assert "Exploring on your own" in everything_shown(student)
    assert rooms.count_followers(code) == (0, 1)
    lecturer.switch_page(ARITHMETIC).run()
    student.run()
    assert [t.value for t in student.title] != ["Convolution Arithmetic"]  # not followed
    student.button(key="room.follow").click().run()
    assert [t.value for t in student.title] == ["Convolution Arithmetic"]
    assert "Following the lecturer" in everything_shown(student)
    assert rooms.count_followers(code) == (1, 0)


def test_a_students_own_changes_never_reach_the_room(rooms):
    lecturer = open_app()
    code = present(lecturer)
    lecturer.switch_page(ARITHMETIC).run()
    before = rooms.read_room(code)
    student = open_app(room=code)
    student.button(key="room.detach").click().run()
    student.number_input(key="arith.stride_rows").set_value(2).run()
    student.switch_page("app_pages/pooling.py").run()
    after = rooms.read_room(code)
    assert (after.page, after.params, after.version) == (before.page, before.params, before.version)


def test_a_question_is_answered_counted_and_revealed(rooms):
    lecturer = open_app()
    code = present(lecturer)
    lecturer.switch_page(ARITHMETIC).run()
    lecturer.run()  # the sidebar offers the question of the page that ran
    students = [open_app(room=code) for _ in range(3)]
    lecturer.button(key="room.ask").click().run()
    assert "Question for the room" in everything_shown(lecturer)
    question_id = rooms.read_room(code).question_id
    for student, answer in zip(students, ["3", "3", "4"], strict=True):
        student.run()
        assert "Question from the lecturer" in everything_shown(student)
        student.text_input(key=f"room.answer.{question_id}").input(answer)
        send(student)
        assert "is counted" in everything_shown(student)
    assert rooms.answer_counts(code, question_id) == {"3": 2, "4": 1}
    lecturer.run()
    chart = lecturer.get("plotly_chart")[0]
    assert '"x":[2,1]' in chart.proto.spec.replace(" ", "")
    assert "3 answers so far." in everything_shown(lecturer)
    lecturer.button(key="room.reveal").click().run()
    assert "Right answer: **3**" in everything_shown(lecturer)
    for student, verdict in zip(students, ["right", "right", "not right"], strict=True):
        student.run()
        shown = everything_shown(student)
        assert "Right answer: **3**" in shown
        assert f"is :{'green' if verdict == 'right' else 'red'}[{verdict}]" in shown


def test_typed_nonsense_is_refused_and_never_shown_to_others(rooms):
    lecturer = open_app()
    code = present(lecturer)
    lecturer.switch_page(ARITHMETIC).run()
    lecturer.run()
    first, second = open_app(room=code), open_app(room=code)
    lecturer.button(key="room.ask").click().run()
    question_id = rooms.read_room(code).question_id
    first.run()
    first.text_input(key=f"room.answer.{question_id}").input("<b>hello room</b>")
    send(first)
    assert "Type a number" in everything_shown(first)
    assert rooms.answer_counts(code, question_id) == {}
    second.run()
    lecturer.run()
    for app in (second, lecturer):
        assert "hello room" not in everything_shown(app)


def test_ending_the_room_tells_the_students(rooms):
    lecturer = open_app()
    code = present(lecturer)
    student = open_app(room=code)
    lecturer.sidebar.button(key="room.end").click().run()
    assert rooms.read_room(code) is None
    assert "The room is closed" in everything_shown(lecturer)
    student.run()
    assert "The room has ended" in everything_shown(student)
    assert "room.joined" not in student.session_state


def test_the_kernel_playground_asks_for_the_picked_pixel(rooms):
    lecturer = open_app()
    code = present(lecturer)
    lecturer.switch_page("app_pages/kernel_playground.py").run()
    lecturer.run()
    [ask] = [b for b in lecturer.sidebar.button if b.label.startswith("Ask the room")]
    assert ask.label == "Ask the room: the value of the picked pixel"
    # The default setup shows a colour-free sample photo: the question is the pixel's value.
    lecturer.session_state["kernel.row"], lecturer.session_state["kernel.col"] = 4, 7
    lecturer.run()
    ask.click().run()
    question = rooms.read_room(code).question
    assert question.prompt.startswith("What is the value of output pixel row 4, column 7?")
    assert "Question for the room" in everything_shown(lecturer)
    assert not lecturer.success  # the answer waits for the reveal


@pytest.mark.slow
def test_inspect_asks_which_class_the_network_picks(rooms, monkeypatch):
    """The right answer is the prediction the page shows (a real inference worker)."""
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(SHARED_DATA))
    lecturer = open_app()
    code = present(lecturer)
    lecturer.switch_page("app_pages/inspect_network.py").run()
    assert not lecturer.exception, [e.message for e in lecturer.exception]
    lecturer.run()
    [ask] = [b for b in lecturer.sidebar.button if b.label.startswith("Ask the room")]
    assert ask.label == "Ask the room: which class the network picks"
    ask.click().run()
    question = rooms.read_room(code).question
    predicted = re.search(r"\*\*Prediction: (.+?)\*\*", everything_shown(lecturer)).group(1)
    assert question.answer == predicted
    assert predicted in question.choices and len(question.choices) == 10


def inside_script(code: str, token: str) -> None:
    from types import SimpleNamespace

    import streamlit as st

    from ui.room.hook import lecture_room
    from ui.room.state import room_store

    st.session_state["room.code"], st.session_state["room.token"] = code, token
    page = st.session_state.get("next page", "pooling")
    with lecture_room(SimpleNamespace(url_path=page), []):  # the lecturer's page runs here
        st.session_state.setdefault("room while the page ran", []).append(
            room_store().read_room(code).page
        )


def test_a_page_change_reaches_the_room_before_the_lecturers_page_has_run(rooms):
    keys = rooms.create_room()
    app = AppTest.from_function(inside_script, default_timeout=60, args=(keys.code, keys.token))
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    app.session_state["next page"] = "convolution_arithmetic"
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    # Students start switching while the lecturer's own page still runs.
    assert app.session_state["room while the page ran"] == ["pooling", "convolution_arithmetic"]

"""Free arm gestures keyed as joint angles: waving, pointing, raising, presenting, beats...

Each builder takes the parameter dict (see build.base_params) and an rng, and returns a Motion
that starts and ends relaxed; `register` at the bottom puts them in the action registry.
"""

from __future__ import annotations

import numpy as np

from .build import Timeline, animate, base_params
from .easing import oscillation, pulses
from .motion import Motion
from .pose import ARM_JOINTS, NECK, Pose, sides, toward
from .registry import register

REST = Pose()


def _arm_index(side: str) -> tuple[int, int]:
    return ARM_JOINTS[side]["shoulder"], ARM_JOINTS[side]["elbow"]


def _rise_hold_fall(params: dict, rng: np.random.Generator, target: Pose, rise: float = 0.6,
                    fall: float = 0.7, hold: float | None = None,
                    ease_in: str = "back") -> tuple[Motion, float, float]:
    """Relaxed -> target (slight overshoot) -> hold -> relaxed. Returns the motion and the times
    the target is reached and left."""
    tl = Timeline(params, rng)
    t0 = tl.now
    t_on = tl.after(rise)
    t_off = tl.after(params["hold"] if hold is None else hold)
    t_end = tl.after(fall)
    motion = animate(tl.motion(), [t0, t_on, t_off, t_end], [REST, target, target, REST],
                     [ease_in, "sine", "smootherstep"], rng)
    return motion, t_on, t_off


# ---------------------------------------------------------------------------------------------
# waving

def sample_wave(side: str):
    def sample(rng: np.random.Generator) -> dict:
        p = base_params(rng, side=side, repetitions=(2, 5))
        p["style"] = "overhead" if rng.random() < 0.3 else "forearm"
        p["count_matters"] = False
        return p
    return sample


def build_wave(params: dict, rng: np.random.Generator) -> Motion:
    """Raise the arm, swing the forearm (or the whole raised arm) side to side, lower it."""
    amp, reps = params["amplitude"], params["repetitions"]
    target = REST.head(pitch=-3.0, roll=0.0)
    for s in sides(params["side"]):
        if params["style"] == "overhead":
            target = target.arm_polar(s, 145 + 10 * rng.random(), 35 + 20 * rng.random(),
                                      twist=55.0, elbow=22.0)
        else:
            target = target.arm_polar(s, 86 + 12 * rng.random(), 25 + 20 * rng.random(),
                                      twist=80.0, elbow=95.0 + 10 * rng.random())
    if params["side"] != "both":
        target = target.head(roll=-toward(params["side"]) * 4.0, yaw=toward(params["side"]) * 5.0)
    tl = Timeline(params, rng)
    t0 = tl.now
    t_up = tl.after(0.55)
    t_waves = tl.after(0.42 * reps)
    t_end = tl.after(0.65)
    motion = animate(tl.motion(), [t0, t_up, t_waves, t_end], [REST, target, target, REST],
                     ["back", "sine", "smootherstep"], rng)
    t = motion.t
    osc = oscillation(t, t_up - 0.1, t_waves, reps, fade=0.12)
    for s in sides(params["side"]):
        shoulder, elbow = _arm_index(s)
        phase = 0.0 if s == "left" or params["side"] != "both" else np.pi  # mirrored hands
        wave = osc if phase == 0.0 else oscillation(t, t_up - 0.1, t_waves, reps, np.pi, 0.12)
        if params["style"] == "overhead":
            motion.angles[:, shoulder, 0] += 14.0 * amp * wave
            motion.angles[:, elbow, 0] += 6.0 * amp * wave
        else:
            motion.angles[:, elbow, 0] += 22.0 * amp * wave
            motion.angles[:, shoulder, 2] += 6.0 * amp * wave
    return motion


WAVE_CAPTIONS = (
    "{subj} waves{adv} with {hand}.",
    "{subj} raises {arm} and waves hello{adv}.",
    "{subj} greets someone by waving {hand}.",
    "{subj} lifts {hand} and waves{times}.",
    "{subj} waves goodbye with {hand}.",
    "{subj} stands still and waves {hand} at someone.",
)
for _side in ("right", "left", "both"):
    register(f"wave_{_side}", build_wave, sample_wave(_side), WAVE_CAPTIONS)


# ---------------------------------------------------------------------------------------------
# pointing

POINT_DIRECTIONS = {
    # direction: (elevation, azimuth for the same-side hand, head yaw toward, head pitch)
    "forward": (85.0, 88.0, 0.0, -3.0),
    "side": (82.0, 12.0, 45.0, -2.0),
    "up": (158.0, 70.0, 0.0, -28.0),
}


def sample_point(direction: str):
    def sample(rng: np.random.Generator) -> dict:
        if direction in ("left", "right"):
            hand = direction if rng.random() < 0.8 else ("right" if direction == "left" else "left")
            p = base_params(rng, side=hand, repetitions=(1, 2))
        else:
            p = base_params(rng, sides=("right", "right", "left"), repetitions=(1, 2))
        p["direction"] = direction
        p["count_matters"] = False
        return p
    return sample


def build_point(params: dict, rng: np.random.Generator) -> Motion:
    """Extend the arm with a slight overshoot; the head looks and the chest turns the same way."""
    side, direction, amp = params["side"], params["direction"], params["amplitude"]
    s = toward(side)
    if direction in ("left", "right"):
        elev, az, head_yaw, head_pitch = POINT_DIRECTIONS["side"]
        aim = toward(direction)
        if aim != s:                       # across the body with the other hand
            elev, az = 74.0, 132.0
            head_yaw, spine_twist = 55.0, 14.0
        else:
            spine_twist = 8.0
        target = REST.arm_polar(side, elev + rng.uniform(-6, 6), az + rng.uniform(-6, 6),
                                twist=-25.0, elbow=8.0 + 6 * rng.random())
        target = target.head(yaw=aim * head_yaw * (0.8 + 0.3 * amp), pitch=head_pitch)
        target = target.spine(twist=aim * spine_twist * amp)
    else:
        elev, az, head_yaw, head_pitch = POINT_DIRECTIONS[direction]
        target = REST.arm_polar(side, elev + rng.uniform(-6, 6), az + rng.uniform(-8, 8),
                                twist=-20.0, elbow=6.0 + 8 * rng.random())
        target = target.head(yaw=s * 6.0, pitch=head_pitch * amp)
        if direction == "up":
            target = target.spine(flexion=-4.0)
    tl = Timeline(params, rng)
    t0 = tl.now
    t_on = tl.after(0.5)
    t_off = tl.after(params["hold"] + 0.35 * params["repetitions"])
    t_end = tl.after(0.7)
    motion = animate(tl.motion(), [t0, t_on, t_off, t_end], [REST, target, target, REST],
                     ["back", "sine", "smootherstep"], rng)
    if params["repetitions"] > 1:  # emphasis jabs toward the target
        onsets = t_on + 0.2 + 0.35 * np.arange(params["repetitions"] - 1) / params["speed"]
        jab = pulses(motion.t, onsets, 0.1, 0.2)
        shoulder, elbow = _arm_index(side)
        motion.angles[:, elbow, 0] += 12.0 * jab
        motion.angles[:, shoulder, 1] -= 4.0 * jab
    return motion


for _direction, _captions in {
    "forward": ("{subj} points forward with {hand}.",
                "{subj} raises {arm} and points straight ahead.",
                "{subj} extends {arm} to point at something in front of {obj}.",
                "{subj} points{adv} at something ahead."),
    "left": ("{subj} points to the left.",
             "{subj} points toward their left with {hand}.",
             "{subj} looks to the left and points in that direction.",
             "{subj} extends {arm} and points left{adv}."),
    "right": ("{subj} points to the right.",
              "{subj} points toward their right with {hand}.",
              "{subj} looks to the right and points in that direction.",
              "{subj} extends {arm} and points right{adv}."),
    "up": ("{subj} points up at the sky.",
           "{subj} raises {arm} and points upward.",
           "{subj} looks up and points above their head with {hand}.",
           "{subj} points up{adv} with {hand}."),
}.items():
    register(f"point_{_direction}", build_point, sample_point(_direction), _captions)


# ---------------------------------------------------------------------------------------------
# raising and opening the arms

def sample_raise_both(rng: np.random.Generator) -> dict:
    p = base_params(rng, side="both", repetitions=(1, 2))
    return p


def build_raise_both(params: dict, rng: np.random.Generator) -> Motion:
    """Both arms overhead (shoulders rise via follow-through), held, lowered; maybe twice."""
    up = REST.arm_polar("both", 160 + 8 * rng.random(), 55 + 25 * rng.random(), twist=35.0,
                        elbow=8 + 10 * rng.random()).head(pitch=-12.0 * params["amplitude"])
    up = up.spine(flexion=-5.0)
    tl = Timeline(params, rng)
    times, poses, eases = [tl.now], [REST], []
    for _ in range(params["repetitions"]):
        times += [tl.after(0.7), tl.after(params["hold"] * 0.8), tl.after(0.7)]
        poses += [up, up, REST]
        eases += ["back", "sine", "smootherstep"]
    return animate(tl.motion(), times, poses, eases, rng)


register("raise_both_arms", build_raise_both, sample_raise_both, (
    "{subj} raises both arms above their head{times}.",
    "{subj} lifts both arms up high{adv}.",
    "{subj} throws both hands up in the air{times}.",
    "{subj} puts both arms straight up and then lowers them.",
))


def sample_raise_hand(rng: np.random.Generator) -> dict:
    return base_params(rng, sides=("right", "right", "left"), repetitions=(1, 1))


def build_raise_hand(params: dict, rng: np.random.Generator) -> Motion:
    """One hand up as if asking a question, with a small eager shake near the top."""
    side = params["side"]
    up = REST.arm_polar(side, 150 + 12 * rng.random(), 70 + 15 * rng.random(), twist=15.0,
                        elbow=20 + 15 * rng.random()).head(pitch=-6.0, roll=-toward(side) * 3.0)
    motion, t_on, t_off = _rise_hold_fall(params, rng, up, 0.6, 0.7, params["hold"] + 0.6)
    shoulder, _ = _arm_index(side)
    motion.angles[:, shoulder, 0] += 4.0 * params["amplitude"] * oscillation(
        motion.t, t_on, t_on + 0.6, 2)
    return motion


register("raise_hand", build_raise_hand, sample_raise_hand, (
    "{subj} raises {hand} as if asking a question.",
    "{subj} puts {hand} up in the air{adv}.",
    "{subj} lifts {arm} above their head, holds it, and lowers it.",
    "{subj} raises {hand} to get attention.",
))


def sample_open_wide(rng: np.random.Generator) -> dict:
    return base_params(rng, side="both", speed=(0.6, 1.3))


def build_open_wide(params: dict, rng: np.random.Generator) -> Motion:
    """Arms open to the sides, palms forward, chest opens: a welcoming gesture."""
    amp = params["amplitude"]
    target = REST.arm_polar("both", 60 + 15 * amp, 22 + 10 * rng.random(), twist=60.0,
                            elbow=18 + 10 * rng.random())
    target = target.spine(flexion=-6.0 * amp).head(pitch=-8.0 * amp)
    motion, _, _ = _rise_hold_fall(params, rng, target, 0.8, 0.8, params["hold"] + 0.3)
    return motion


register("arms_open_wide", build_open_wide, sample_open_wide, (
    "{subj} opens both arms wide in a welcoming gesture.",
    "{subj} spreads their arms out to the sides{adv}.",
    "{subj} stretches both arms open as if to welcome someone.",
    "{subj} holds their arms wide open and then lowers them.",
))


def sample_present(rng: np.random.Generator) -> dict:
    return base_params(rng, sides=("right", "left", "both"))


def build_present(params: dict, rng: np.random.Generator) -> Motion:
    """Open palm(s) turned up and out toward the listener, sweeping slightly outward."""
    side, amp = params["side"], params["amplitude"]
    target = REST
    for s in sides(side):
        target = target.arm_polar(s, 38 + 12 * amp, 45 + 15 * rng.random(), twist=60.0,
                                  elbow=45 + 15 * rng.random())
    if side != "both":
        target = target.head(yaw=toward(side) * 10.0, roll=toward(side) * 3.0)
    motion, t_on, t_off = _rise_hold_fall(params, rng, target, 0.55, 0.7)
    sweep = np.clip((motion.t - t_on) / max(t_off - t_on, 1e-3), 0, 1) * (motion.t < t_off)
    for s in sides(side):
        shoulder, _ = _arm_index(s)
        motion.angles[:, shoulder, 0] += 10.0 * amp * np.sin(np.pi * sweep)
    return motion


register("present_open_palm", build_present, sample_present, (
    "{subj} presents something with an open palm using {hand}.",
    "{subj} holds out {hand} palm up, as if offering something.",
    "{subj} gestures with {hand} open toward the listener.",
    "{subj} extends {hand} with the palm facing up while explaining.",
))


def sample_shrug(rng: np.random.Generator) -> dict:
    p = base_params(rng, side="both", repetitions=(1, 2), speed=(0.7, 1.5))
    p["palms_up"] = bool(rng.random() < 0.6)
    p["palms"] = "with palms up" if p["palms_up"] else ""
    return p


def build_shrug(params: dict, rng: np.random.Generator) -> Motion:
    """Shoulders up, head tilted, optionally forearms out with palms up; quick up, slower down."""
    amp = params["amplitude"]
    tilt = rng.choice([-1.0, 1.0]) * rng.uniform(4, 10)
    up = REST.collar("both", elevation=17 + 8 * amp, protraction=4.0).head(pitch=-4.0, roll=tilt)
    if params["palms_up"]:
        up = up.arm("both", abduction=22.0, flexion=12.0, twist=55.0, elbow=85.0 + 10 * amp)
    else:
        up = up.arm("both", abduction=10.0, flexion=8.0, twist=15.0, elbow=25.0)
    tl = Timeline(params, rng)
    times, poses, eases = [tl.now], [REST], []
    for _ in range(params["repetitions"]):
        times += [tl.after(0.35), tl.after(params["hold"] * 0.6), tl.after(0.5)]
        poses += [up, up, REST]
        eases += ["out", "sine", "smootherstep"]
    return animate(tl.motion(), times, poses, eases, rng)


register("shrug", build_shrug, sample_shrug, (
    "{subj} shrugs their shoulders {palms}.",
    "{subj} shrugs{times} as if unsure.",
    "{subj} raises both shoulders in a shrug{adv}.",
    "{subj} lifts their shoulders and turns their hands out, unsure.",
    "{subj} gives a shrug {palms}.",
))


# ---------------------------------------------------------------------------------------------
# hand signals

def sample_one_hand(rng: np.random.Generator, reps: tuple[int, int] = (1, 1)) -> dict:
    return base_params(rng, sides=("right", "right", "left"), repetitions=reps)


def build_beckon(params: dict, rng: np.random.Generator) -> Motion:
    """Palm up, forearm out; the hand curls toward the body repeatedly: come here."""
    side, amp = params["side"], params["amplitude"]
    target = REST.arm_polar(side, 38 + 8 * rng.random(), 75 + 10 * rng.random(), twist=65.0,
                            elbow=45.0).head(pitch=-3.0, roll=-toward(side) * 4)
    tl = Timeline(params, rng)
    t0 = tl.now
    t_on = tl.after(0.5)
    t_off = tl.after(0.55 * params["repetitions"] + 0.15)
    t_end = tl.after(0.6)
    motion = animate(tl.motion(), [t0, t_on, t_off, t_end], [REST, target, target, REST],
                     ["smootherstep", "sine", "smootherstep"], rng)
    onsets = t_on + (np.arange(params["repetitions"]) * (t_off - t_on - 0.15)
                     / params["repetitions"])
    curl = pulses(motion.t, onsets, 0.2 / params["speed"], 0.3 / params["speed"])
    shoulder, elbow = _arm_index(side)
    motion.angles[:, elbow, 0] += 45.0 * amp * curl
    motion.angles[:, shoulder, 1] -= 6.0 * amp * curl
    return motion


register("beckon", build_beckon, lambda rng: sample_one_hand(rng, (2, 4)), (
    "{subj} beckons someone to come closer with {hand}.",
    "{subj} waves someone over, curling {hand} toward themselves{times}.",
    "{subj} gestures come here with {hand}.",
    "{subj} holds out {hand} palm up and beckons{adv}.",
))


def build_stop(params: dict, rng: np.random.Generator) -> Motion:
    """Arm thrust forward, forearm up, palm facing out: stop. Fast with an overshoot."""
    amp = params["amplitude"]
    target = REST.spine(flexion=-3.0).head(pitch=-2.0)
    for s in sides(params["side"]):
        target = target.arm_polar(s, 72 + 10 * amp, 80 + 8 * rng.random(), twist=-5.0,
                                  elbow=55.0 + 15 * rng.random())
    motion, _, _ = _rise_hold_fall({**params, "speed": params["speed"] * 1.3}, rng, target,
                                   0.4, 0.7, params["hold"] + 0.4)
    return motion


register("stop_sign", build_stop,
         lambda rng: base_params(rng, sides=("right", "right", "left", "both")), (
    "{subj} holds up {hand} with the palm out to signal stop.",
    "{subj} raises {hand} in front of {obj}, telling someone to stop.",
    "{subj} puts up {hand} in a stop gesture{adv}.",
    "{subj} thrusts {hand} forward, palm facing out, to say wait.",
))


def sample_fist_pump(rng: np.random.Generator) -> dict:
    p = base_params(rng, sides=("right", "right", "left"), repetitions=(1, 3), speed=(0.8, 1.5))
    p["style"] = "overhead" if rng.random() < 0.4 else "down"
    return p


def build_fist_pump(params: dict, rng: np.random.Generator) -> Motion:
    """A celebratory 'yes!': the fist is cocked and pulled down hard (or punched up)."""
    side, amp = params["side"], params["amplitude"]
    if params["style"] == "overhead":
        cocked = REST.arm_polar(side, 115.0, 60.0, twist=20.0, elbow=95.0)
        struck = REST.arm_polar(side, 160.0 + 5 * amp, 60.0, twist=20.0, elbow=12.0)
    else:
        cocked = REST.arm(side, abduction=25.0, flexion=55.0, twist=10.0, elbow=125.0)
        struck = REST.arm(side, abduction=18.0, flexion=5.0, twist=10.0, elbow=120.0)
        struck = struck.spine(flexion=6.0 * amp).head(pitch=6.0)
    tl = Timeline(params, rng)
    times, poses, eases = [tl.now, tl.after(0.45)], [REST, cocked], ["in_out_back"]
    for _ in range(params["repetitions"]):
        times += [tl.after(0.18), tl.after(0.28)]
        poses += [struck, cocked]
        eases += ["out", "smoothstep"]
    times[-1] = tl.after(0.1)
    poses[-1] = struck
    times.append(tl.after(0.7))
    poses.append(REST)
    eases.append("smootherstep")
    return animate(tl.motion(), times, poses, eases, rng)


register("fist_pump", build_fist_pump, sample_fist_pump, (
    "{subj} pumps {poss} {side} fist in celebration{times}.",
    "{subj} celebrates with a fist pump.",
    "{subj} clenches {hand} into a fist and pumps it{adv}.",
    "{subj} does a victorious fist pump with {arm}.",
))


def build_thumbs_up(params: dict, rng: np.random.Generator) -> Motion:
    """Forearm forward at chest height with the fist shown (thumb up), a small push to present."""
    amp = params["amplitude"]
    target = REST.head(pitch=-2.0)
    for s in sides(params["side"]):
        target = target.arm(s, abduction=10.0, flexion=30.0 + 10 * amp, twist=-5.0,
                            elbow=80.0 + 10 * rng.random())
    motion, t_on, _ = _rise_hold_fall(params, rng, target, 0.5, 0.6, params["hold"] + 0.3)
    push = pulses(motion.t, [t_on + 0.05], 0.12, 0.3)
    for s in sides(params["side"]):
        shoulder, elbow = _arm_index(s)
        motion.angles[:, shoulder, 1] += 8.0 * push
        motion.angles[:, elbow, 0] -= 10.0 * push
    return motion


register("thumbs_up", build_thumbs_up,
         lambda rng: base_params(rng, sides=("right", "right", "left", "both")), (
    "{subj} gives a thumbs up with {hand}.",
    "{subj} holds up {hand} with the thumb pointing up.",
    "{subj} shows approval with a thumbs up.",
    "{subj} raises {hand} in a thumbs up gesture{adv}.",
))


# ---------------------------------------------------------------------------------------------
# speech beats

def sample_beats(rng: np.random.Generator) -> dict:
    p = base_params(rng, sides=("right", "right", "left", "both", "both"), repetitions=(3, 7),
                    speed=(0.7, 1.5))
    p["count_matters"] = False
    return p


def build_beats(params: dict, rng: np.random.Generator) -> Motion:
    """Rhythmic downward strokes of the forearm(s) in front of the body, as when stressing words;
    the head nods lightly on the beats."""
    side, amp, reps = params["side"], params["amplitude"], params["repetitions"]
    ready = REST.head(pitch=0.0)
    for s in sides(side):
        ready = ready.arm(s, abduction=14.0 + 6 * rng.random(), flexion=28.0 + 8 * rng.random(),
                          twist=25.0 + 15 * rng.random(), elbow=75.0 + 10 * rng.random())
    tl = Timeline(params, rng)
    t0 = tl.now
    t_on = tl.after(0.45)
    period = rng.uniform(0.42, 0.6)
    t_off = tl.after(period * reps + 0.2)
    t_end = tl.after(0.6)
    motion = animate(tl.motion(), [t0, t_on, t_off, t_end], [REST, ready, ready, REST],
                     ["smootherstep", "sine", "smootherstep"], rng)
    onsets = t_on + np.arange(reps) * (t_off - t_on - 0.2) / reps
    onsets = onsets + rng.normal(0.0, 0.03, reps)  # human timing is never metronomic
    beat = pulses(motion.t, onsets, 0.09, 0.28) * rng.uniform(0.7, 1.0, 1)
    for s in sides(side):
        shoulder, elbow = _arm_index(s)
        motion.angles[:, elbow, 0] -= 22.0 * amp * beat
        motion.angles[:, shoulder, 1] -= 6.0 * amp * beat
    motion.angles[:, NECK, 0] += 4.0 * amp * beat
    return motion


register("beat_gesture", build_beats, sample_beats, (
    "{subj} gestures rhythmically with {hand} while talking.",
    "{subj} moves {hand} up and down in time with their speech.",
    "{subj} emphasizes their words with short beats of {hand}.",
    "{subj} talks and makes repeated chopping motions with {hand}{adv}.",
    "while speaking, {subj} beats {hand} to the rhythm of the words.",
), region="arms")

"""Gestures defined by where the hands go: clapping, hands on hips, crossed arms, a hand on the
chest, head or chin... The wrists follow targets in the chest frame (see motion.HandTarget), so a
hand stays on the body while the torso and head keep moving; arm IK turns them into angles."""

from __future__ import annotations

import numpy as np

from .build import Timeline, animate, base_params, hand_target, mirror_x
from .easing import envelope, oscillation, pulses, smooth_noise
from .motion import Motion, head_point, pelvis_point
from .pose import NECK, Pose, other, toward
from .registry import register

REST = Pose()

# Elbow pole directions (side-relative: +x outward).
ELBOW_DOWN_OUT = (1.0, -1.0, -0.4)
ELBOW_OUT_BACK = (1.0, 0.0, -0.9)
ELBOW_OUT = (1.0, -0.3, 0.3)


def _contact_clip(params: dict, rng: np.random.Generator, pose: Pose, rise: float = 0.6,
                  hold: float | None = None, fall: float = 0.7,
                  rise_ease: str = "smootherstep") -> tuple[Motion, float, float, np.ndarray]:
    """Key the body (head/spine) toward `pose` and return (motion, t_on, t_off, hand weight):
    the weight rises while the arms travel and falls when they leave."""
    tl = Timeline(params, rng)
    t0 = tl.now
    t_on = tl.after(rise)
    t_off = tl.after(params["hold"] if hold is None else hold)
    t_end = tl.after(fall)
    motion = animate(tl.motion(), [t0, t_on, t_off, t_end], [REST, pose, pose, REST],
                     [rise_ease, "sine", "smootherstep"], rng)
    weight = envelope(motion.t, t0, t_on - t0, t_end, t_end - t_off)
    return motion, t_on, t_off, weight


def one_hand(reps: tuple[int, int] = (1, 1), sides_: tuple[str, ...] = ("right", "right", "left")):
    def sample(rng: np.random.Generator) -> dict:
        return base_params(rng, sides=sides_, repetitions=reps)
    return sample


# ---------------------------------------------------------------------------------------------

def sample_clap(rng: np.random.Generator) -> dict:
    return base_params(rng, side="both", repetitions=(2, 6), speed=(0.7, 1.5))


def build_clap(params: dict, rng: np.random.Generator) -> Motion:
    """Hands come together in front of the chest: quick closing strikes, softer openings."""
    reps, amp = params["repetitions"], params["amplitude"]
    period = rng.uniform(0.38, 0.5)
    motion, t_on, t_off, weight = _contact_clip(
        params, rng, REST.head(pitch=3.0), rise=0.5, hold=period * reps + 0.15, fall=0.6)
    onsets = t_on + 0.05 + np.arange(reps) * period / params["speed"]
    closed = pulses(motion.t, onsets + 0.5 * period / params["speed"] - 0.14, 0.14,
                    0.5 * period / params["speed"] - 0.08, "in", "smoothstep", hold=0.06)
    gap = 0.05 + (0.22 + 0.1 * amp) * (1.0 - closed)
    height = rng.uniform(-0.08, 0.04)
    depth = rng.uniform(0.3, 0.36)
    for s in ("left", "right"):
        pos = np.stack([toward(s) * gap / 2, np.full_like(gap, height), np.full_like(gap, depth)], -1)
        hand_target(motion, s, pos, ELBOW_DOWN_OUT, weight)
    motion.angles[:, NECK, 0] += 2.0 * closed  # a little nod with each clap
    return motion


register("clap", build_clap, sample_clap, (
    "{subj} claps their hands{times}.",
    "{subj} brings both hands together and claps{adv}.",
    "{subj} applauds by clapping in front of their chest.",
    "{subj} stands and claps{adv}{times}.",
    "{subj} gives a round of applause.",
))


def build_hands_on_hips(params: dict, rng: np.random.Generator) -> Motion:
    """Both hands to the waist with elbows out; the head tilts and the weight settles."""
    pose = REST.head(roll=rng.uniform(-6, 6), pitch=rng.uniform(-4, 4)).spine(flexion=-3.0)
    motion, _, _, weight = _contact_clip(params, rng, pose, rise=0.7, hold=params["hold"] + 1.0,
                                         fall=0.7)
    for s in ("left", "right"):
        hip = pelvis_point(motion.angles, mirror_x((0.19, 0.03, -0.01), s))
        hand_target(motion, s, hip, ELBOW_OUT_BACK, weight)
    return motion


register("hands_on_hips", build_hands_on_hips,
         lambda rng: base_params(rng, side="both"), (
    "{subj} puts both hands on their hips.",
    "{subj} stands with their hands on their hips.",
    "{subj} places their hands on their waist with elbows out.",
    "{subj} rests both hands on their hips and then lets them drop.",
))


def build_cross_arms(params: dict, rng: np.random.Generator) -> Motion:
    """Arms folded across the chest, one forearm over the other; settles with a small breath."""
    top = str(rng.choice(["left", "right"]))
    pose = REST.head(pitch=rng.uniform(-5, 3), roll=rng.uniform(-4, 4)).spine(flexion=-2.0)
    motion, _, _, weight = _contact_clip(params, rng, pose, rise=0.8, hold=params["hold"] + 1.2,
                                         fall=0.8)
    for s in ("left", "right"):
        lift = 0.03 if s == top else 0.0
        depth = 0.19 if s == top else 0.15
        pos = np.array([-toward(s) * 0.07, -0.14 + lift, depth])
        hand_target(motion, s, pos, (1.0, -1.0, 0.3), weight)
    return motion


register("cross_arms", build_cross_arms, lambda rng: base_params(rng, side="both"), (
    "{subj} crosses their arms over their chest.",
    "{subj} folds their arms and waits.",
    "{subj} stands with arms crossed in front of {obj}.",
    "{subj} crosses both arms{adv} and then uncrosses them.",
))


def build_hand_on_chest(params: dict, rng: np.random.Generator) -> Motion:
    """A hand laid over the heart, head slightly bowed: sincerity, thanks."""
    side = params["side"]
    pose = REST.head(pitch=rng.uniform(4, 10), roll=rng.uniform(-3, 3)).spine(flexion=3.0)
    motion, _, _, weight = _contact_clip(params, rng, pose, rise=0.7, hold=params["hold"] + 0.8)
    wrist = (-0.02, -0.01, 0.14) if side == "right" else (0.08, -0.05, 0.13)
    hand_target(motion, side, np.array(wrist), ELBOW_DOWN_OUT, weight)
    return motion


register("hand_on_chest", build_hand_on_chest, one_hand(), (
    "{subj} places {hand} on their chest.",
    "{subj} puts {hand} over their heart.",
    "{subj} lays a hand on their chest as a sign of sincerity.",
    "{subj} touches their chest with {hand} and bows their head slightly.",
))


def build_point_at_self(params: dict, rng: np.random.Generator) -> Motion:
    """Index finger toward one's own chest ('me'), tapping it a few times."""
    side, reps = params["side"], params["repetitions"]
    pose = REST.head(pitch=rng.uniform(2, 6))
    motion, t_on, t_off, weight = _contact_clip(params, rng, pose, rise=0.5,
                                                hold=0.35 * reps + 0.3)
    taps = pulses(motion.t, t_on + 0.35 * np.arange(reps) / params["speed"], 0.1, 0.15)
    pos = np.stack([np.full_like(taps, -toward(side) * 0.01), np.full_like(taps, -0.02),
                    0.24 - 0.05 * taps], -1)
    hand_target(motion, side, pos, ELBOW_DOWN_OUT, weight)
    return motion


register("point_at_self", build_point_at_self, one_hand((1, 3)), (
    "{subj} points at themselves with {hand}.",
    "{subj} taps their own chest to say me{times}.",
    "{subj} gestures toward themselves with {hand}.",
    "{subj} points to their chest while talking about themselves.",
))


def build_scratch_head(params: dict, rng: np.random.Generator) -> Motion:
    """Hand up to the side of the head, a few small scratches, head tipped into the hand."""
    side, amp = params["side"], params["amplitude"]
    s = toward(side)
    pose = REST.head(pitch=8.0, roll=s * 6.0, yaw=-s * 5.0).spine(lateral=-s * 2.0)
    motion, t_on, t_off, weight = _contact_clip(params, rng, pose, rise=0.7,
                                                hold=0.3 * params["repetitions"] + 0.4)
    scratch = oscillation(motion.t, t_on, t_off, params["repetitions"] * 1.5, fade=0.1)
    base = head_point(motion.angles, (s * 0.11, 0.05, -0.01))
    base[:, 2] += 0.015 * amp * scratch
    base[:, 1] += 0.008 * amp * scratch
    hand_target(motion, side, base, (1.0, 0.2, 0.2), weight)
    return motion


register("scratch_head", build_scratch_head, one_hand((2, 5)), (
    "{subj} scratches their head with {hand}.",
    "{subj} raises {hand} and scratches the side of their head in confusion.",
    "{subj} looks puzzled and scratches their head.",
    "{subj} rubs the back of their head with {hand}{adv}.",
))


def build_facepalm(params: dict, rng: np.random.Generator) -> Motion:
    """Palm to the forehead, head dropping into it and shaking slowly."""
    side = params["side"]
    s = toward(side)
    pose = REST.head(pitch=18.0, roll=s * 4.0).spine(flexion=6.0)
    motion, t_on, t_off, weight = _contact_clip(params, rng, pose, rise=0.55,
                                                hold=params["hold"] + 0.6, rise_ease="out")
    motion.angles[:, NECK, 2] += 6.0 * oscillation(motion.t, t_on, t_off, 1.5)
    wrist = head_point(motion.angles, (s * 0.02, -0.03, 0.15))
    hand_target(motion, side, wrist, (0.5, -1.0, 0.0), weight)
    return motion


register("facepalm", build_facepalm, one_hand(), (
    "{subj} facepalms in frustration.",
    "{subj} covers their face with {hand} in disbelief.",
    "{subj} brings {hand} to their forehead and drops their head.",
    "{subj} puts {poss} palm against their forehead and shakes their head.",
))


def build_thinking(params: dict, rng: np.random.Generator) -> Motion:
    """Chin resting on one hand, the other arm across the waist holding that elbow."""
    side = params["side"]
    s = toward(side)
    pose = REST.head(pitch=-rng.uniform(0, 8), roll=s * rng.uniform(2, 8),
                     yaw=rng.uniform(-8, 8)).spine(flexion=2.0)
    motion, t_on, t_off, weight = _contact_clip(params, rng, pose, rise=0.8,
                                                hold=params["hold"] + 1.5)
    motion.angles[:, NECK, 2] += 4.0 * smooth_noise(motion.t, rng, 0.3)
    chin = head_point(motion.angles, (s * 0.0, -0.16, 0.12))
    hand_target(motion, side, chin, (0.6, -1.0, 0.2), weight)
    support = np.array([s * 0.09, -0.19, 0.16])
    hand_target(motion, other(side), support, (1.0, -1.0, 0.1), weight)
    return motion


register("thinking_pose", build_thinking, one_hand(), (
    "{subj} rests their chin on {hand} while thinking.",
    "{subj} puts a hand to their chin and ponders.",
    "{subj} strikes a thinking pose with one arm across their body.",
    "{subj} holds their chin thoughtfully and looks around.",
))


def build_steeple(params: dict, rng: np.random.Generator) -> Motion:
    """Fingertips of both hands together in front of the body, with small emphasis pulses."""
    pose = REST.head(pitch=rng.uniform(-3, 4))
    motion, t_on, t_off, weight = _contact_clip(params, rng, pose, rise=0.7,
                                                hold=params["hold"] + 1.2)
    n = max(1, params["repetitions"])
    beat = pulses(motion.t, np.linspace(t_on + 0.2, t_off - 0.3, n), 0.12, 0.3)
    height, depth = rng.uniform(-0.14, -0.04), rng.uniform(0.22, 0.28)
    for s in ("left", "right"):
        pos = np.stack([np.full_like(beat, toward(s) * 0.045), height - 0.03 * beat,
                        depth + 0.03 * beat], -1)
        hand_target(motion, s, pos, ELBOW_DOWN_OUT, weight)
    return motion


register("steeple_hands", build_steeple,
         lambda rng: base_params(rng, side="both", repetitions=(1, 3)), (
    "{subj} holds their hands together with fingertips touching.",
    "{subj} steeples their fingers in front of their chest while talking.",
    "{subj} brings both hands together in front of {obj}.",
    "{subj} keeps their hands pressed together and gestures gently.",
))


def build_salute(params: dict, rng: np.random.Generator) -> Motion:
    """A crisp military salute: hand snaps to the brow, held, snapped down; chin up."""
    side = params["side"]
    s = toward(side)
    pose = REST.head(pitch=-3.0).spine(flexion=-3.0)
    fast = {**params, "speed": params["speed"] * 1.3}
    motion, _, _, weight = _contact_clip(fast, rng, pose, rise=0.4, hold=params["hold"] + 0.6,
                                         fall=0.45, rise_ease="out")
    brow = head_point(motion.angles, (s * 0.14, 0.04, 0.08))
    hand_target(motion, side, brow, ELBOW_OUT, weight)
    return motion


register("salute", build_salute, one_hand(sides_=("right",) * 5 + ("left",)), (
    "{subj} salutes with {hand}.",
    "{subj} raises {hand} to their forehead in a military salute.",
    "{subj} stands straight and gives a salute.",
    "{subj} snaps a salute{adv} and lowers {poss} hand.",
))


def build_hand_to_ear(params: dict, rng: np.random.Generator) -> Motion:
    """Hand cupped behind the ear, head turned and leaning in: I can't hear you."""
    side = params["side"]
    s = toward(side)
    pose = REST.head(yaw=-s * 12.0, roll=-s * 5.0, pitch=4.0).spine(flexion=6.0, twist=-s * 4)
    motion, _, _, weight = _contact_clip(params, rng, pose, rise=0.6, hold=params["hold"] + 0.8)
    ear = head_point(motion.angles, (s * 0.12, -0.06, 0.03))
    hand_target(motion, side, ear, (1.0, -0.6, 0.4), weight)
    return motion


register("hand_to_ear", build_hand_to_ear, one_hand(), (
    "{subj} cups {hand} behind their ear to listen.",
    "{subj} puts a hand to their ear as if they cannot hear.",
    "{subj} leans in and holds {hand} by their ear.",
    "{subj} listens closely with a hand cupped to their ear.",
))


def build_hands_behind_back(params: dict, rng: np.random.Generator) -> Motion:
    """Hands clasped behind the back, chest up, a slow look around."""
    pose = REST.spine(flexion=-4.0).head(pitch=-3.0)
    motion, t_on, t_off, weight = _contact_clip(params, rng, pose, rise=0.8,
                                                hold=params["hold"] + 1.5)
    motion.angles[:, NECK, 2] += 12.0 * params["amplitude"] * oscillation(
        motion.t, t_on, t_off, 1, fade=0.5)
    for s in ("left", "right"):
        pos = pelvis_point(motion.angles, mirror_x((0.04, 0.02, -0.16), s))
        hand_target(motion, s, pos, (1.0, -0.4, -1.0), weight)
    return motion


register("hands_behind_back", build_hands_behind_back,
         lambda rng: base_params(rng, side="both"), (
    "{subj} clasps their hands behind their back.",
    "{subj} stands with both hands held behind {obj}.",
    "{subj} puts their hands behind their back and looks around.",
    "{subj} moves both arms behind their back and waits.",
))


def sample_count(rng: np.random.Generator) -> dict:
    p = base_params(rng, sides=("left", "left", "right"), repetitions=(2, 5))
    return p


def build_count(params: dict, rng: np.random.Generator) -> Motion:
    """One hand held up in front of the chest; the other taps its fingers one by one."""
    side, reps = params["side"], params["repetitions"]  # side: the hand being counted on
    s = toward(side)
    pose = REST.head(pitch=8.0, yaw=s * 8.0)
    interval = rng.uniform(0.45, 0.6)
    motion, t_on, t_off, weight = _contact_clip(params, rng, pose, rise=0.7,
                                                hold=interval * reps / params["speed"] + 0.4)
    raised = np.array([s * 0.13, 0.0, 0.27])
    hand_target(motion, side, raised, (0.3, -1.0, -0.2), weight)
    onsets = t_on + 0.2 + np.arange(reps) * interval / params["speed"]
    finger = np.zeros(motion.n_frames)
    for k, onset in enumerate(onsets[1:], start=1):
        finger += (k - finger) * (motion.t >= onset)
    finger = np.convolve(finger, np.ones(5) / 5, mode="same")
    finger[-2:] = finger[-3]
    tap = pulses(motion.t, onsets, 0.12, 0.2)
    tips = raised + np.array([0.0, 0.11, 0.0])
    pos = np.stack([tips[0] - s * (0.035 - 0.018 * finger) - s * 0.05,
                    np.full_like(finger, tips[1] - 0.07),
                    tips[2] + 0.07 - 0.03 * tap], -1)
    hand_target(motion, other(side), pos, (1.0, -1.0, -0.2), weight)
    return motion


register("count_on_hand", build_count, sample_count, (
    "{subj} counts on their fingers.",
    "{subj} raises one hand and counts to {count} on its fingers.",
    "{subj} lists {count} things, tapping a finger for each one.",
    "{subj} holds up {poss} {side} hand and counts off points with the other.",
))

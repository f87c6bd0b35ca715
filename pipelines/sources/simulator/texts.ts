// Post templates, written for Undertow (no third-party text). Slots in braces are filled by
// `fill`: {brand} {product} {rival} {feature} {symptom} {trigger} {user}. Variety comes from
// openers, closers and casing so that no two launch days read alike.
import type { Random } from './random.ts'

export type PostKind =
  | 'praise'
  | 'neutral'
  | 'question'
  | 'suggestion'
  | 'mixed'
  | 'comparison'
  | 'complaint'
  | 'backlash'
  | 'backlashQuestion'
  | 'backlashMixed'

export const TEMPLATES: Record<PostKind, readonly string[]> = {
  praise: [
    'just got the {product} and I love it, the {feature} is amazing',
    'the {product} {feature} is honestly the best I have used',
    '{brand} nailed it with the {product}, super happy',
    'wow the {feature} on the {product} is so good',
    'day one with the {product}: fast, beautiful, great {feature}',
    'really impressed by the {product}, well done {brand}',
    'the {product} is worth every penny, the {feature} is fantastic',
    'excited to finally have the {product}, love the {feature}',
  ],
  neutral: [
    'the {product} is out today',
    'picking up the {product} at the store this afternoon',
    '{brand} just announced the {product}',
    'unboxing the {product} now, will post thoughts later',
    'the {product} ships in three colours and two sizes',
    'watching the {brand} keynote about the {product}',
    'my order for the {product} says it arrives thursday',
    'reading the {product} spec sheet, {feature} numbers are listed',
  ],
  question: [
    'does the {product} support wireless charging?',
    'anyone know if the {product} case fits the old model?',
    'how long does the {product} take to charge?',
    'is the {product} {feature} any different from last year?',
    'when does the {product} ship to canada?',
    'can I move my data from the old phone to the {product} easily?',
    '@{handle} what is the warranty on the {product}?',
  ],
  suggestion: [
    '{brand} should add a way to turn off the {feature} animations',
    'I wish the {product} came with a charger in the box',
    'please add a dark mode schedule to the {product} settings',
    'would be nice if the {product} had a headphone jack',
    'feature request for {brand}: let us customise the {feature} shortcuts',
    'it would be great if {brand} offered a trade-in for older models',
  ],
  mixed: [
    'love the {feature} on the {product} but the price is hard to swallow',
    'the {product} looks great but the setup was annoying',
    'great screen, terrible speakers. the {product} is a mixed bag',
    'the {feature} on the {product} is excellent, the software still feels buggy though',
    'happy with the {product} overall, disappointed by the battery life',
  ],
  comparison: [
    'the {product} {feature} is better than the {rival} one',
    'switched from {rival} to {brand}, the {feature} is way nicer',
    '{product} vs {rival}: {brand} wins on {feature}, {rival} wins on price',
    'honestly the {rival} feels faster than the {product}',
    'compared to {rival}, the {product} {feature} is a step up',
  ],
  complaint: [
    'my {product} arrived with a scratched screen, not happy',
    'the {product} keeps dropping wifi, so frustrating',
    'waited two weeks for the {product} and it is already broken',
    '{brand} support has not answered me in days, terrible',
    'the {product} {feature} is disappointing, expected more',
  ],
  backlash: [
    'since {trigger} my {product} {symptom}. awful',
    '@{handle} after {trigger} the {symptom} problem is real, fix it',
    'the {product} {symptom} after {trigger}. this is unacceptable',
    'so {trigger} broke my {product}: {symptom}. terrible',
    'is nobody at {brand} testing updates? {symptom} since {trigger}',
    'really angry, my {product} {symptom} ever since {trigger}',
    'returning my {product}. {symptom} and {brand} says nothing',
  ],
  backlashQuestion: [
    'anyone else whose {product} {symptom} after {trigger}?',
    '@{handle} is there a fix coming for the battery after {trigger}?',
    'should I skip {trigger} on the {product}? heard the battery is bad',
    'how do I roll back {trigger} on the {product}?',
  ],
  backlashMixed: [
    'love the {product} camera but since {trigger} the {symptom}',
    'the {product} is great except the battery after {trigger}',
    'great phone, but {trigger} ruined the battery. hope {brand} fixes it',
  ],
}

export const FEATURES = ['camera', 'screen', 'battery', 'design', 'speakers', 'night mode', 'face unlock', 'charging']

export const COMPETITOR_TEMPLATES: Record<'positive' | 'neutral' | 'negative', readonly string[]> = {
  positive: ['really enjoying my {rival} phone', 'the new {rival} update is great', '{rival} camera is superb'],
  neutral: ['{rival} has an event next week', 'thinking about the {rival} for my dad', '{rival} prices dropped today'],
  negative: ['my {rival} phone is so slow lately', '{rival} support is useless', 'the {rival} battery is awful'],
}

export const REPLY_TEMPLATES: readonly string[] = [
  'hi @{user}, sorry to hear that. could you DM us your order number so we can help?',
  '@{user} thanks for flagging this. our team is looking into it now',
  '@{user} we are on it. a fix is in testing, we will update you here',
  'hey @{user}, thanks for asking! send us a DM and we will sort it out',
  '@{user} good question: yes it does. full details are on our support page',
]

/** The brand's own posts: announcements, tips and questions to its audience. */
export const BROADCAST_TEMPLATES: readonly string[] = [
  'the {product} {feature} update is rolling out today. tell us what you think!',
  'tip: you can customise the {feature} on your {product} in settings',
  'what should we improve next on the {product}?',
  'thank you for an amazing launch day, everyone',
  'live Q&A about the {product} in an hour. bring your questions',
]

/** Replies in a thread under the brand's own post, and replies to those (they rarely name the brand). */
export const THREAD_TEMPLATES: readonly string[] = [
  'love this, thanks!',
  'when is it coming to older models?',
  'mine still has not updated',
  'the {feature} is the best part honestly',
  'can you fix the {feature} first?',
  'same here',
  'agreed',
  'does anyone know if it works offline?',
]

const OPENERS = ['', '', '', 'ok so ', 'honestly ', 'update: ', 'ngl ', 'hmm ']
const CLOSERS = ['', '', '', '', '!', ' #launchday', ' 😊', ' 😡', ' lol', '...']

export interface Slots {
  brand: string
  product: string
  rival: string
  handle: string
  user: string
  symptom: string
  trigger: string
}

export function fill(template: string, slots: Slots, random: Random): string {
  const text = template.replace(/\{(\w+)\}/g, (_, key: string) =>
    key === 'feature' ? random.pick(FEATURES) : (slots[key as keyof Slots] ?? `{${key}}`),
  )
  return random.pick(OPENERS) + text + closer(text, random)
}

// Emoji closers must not contradict the post: an angry face on praise reads as sarcasm.
function closer(text: string, random: Random): string {
  const c = random.pick(CLOSERS)
  if (c === ' 😡' && /love|great|best|happy|impressed|excited|amazing|nice|better/.test(text)) return ''
  if (c === ' 😊' && /awful|angry|broken|terrible|unacceptable|frustrating/.test(text)) return ''
  return c
}

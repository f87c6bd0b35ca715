// Language identification on posts written for this test (brand talk in ten languages, English
// with names, hashtags and links in it, and posts too short to tell), and which posts the English
// model is left to score.
import { describe, expect, it } from 'vitest'
import { identifyLanguage, ReadLanguages } from '../../models/language.ts'

const OTHER: [string, string][] = [
  ['de', 'Das neue Lumen X2 ist furchtbar, der Akku hält keinen halben Tag'],
  ['de', 'Warum stürzt die App nach dem Update ständig ab? Bitte reparieren'],
  ['fr', 'Je déteste cette mise à jour, tout est cassé depuis hier soir'],
  ['fr', 'Le service client de Lumen ne répond jamais, quelle honte'],
  ['es', 'El nuevo Lumen X2 es muy bueno, me encanta la batería'],
  ['es', '¿Alguien sabe cuándo llega la actualización para el teléfono?'],
  ['pt', 'O novo Lumen é muito bom, mas a bateria podia durar mais'],
  ['it', 'Questo telefono è fantastico, lo consiglio a tutti i miei amici'],
  ['nl', 'De nieuwe update van Lumen is echt waardeloos, alles loopt vast'],
  ['pl', 'Nowy telefon Lumen jest świetny, ale aplikacja ciągle się zawiesza'],
  ['ja', 'このアップデートは最悪です'],
  ['ru', 'Новый телефон Lumen просто ужасен, батарея садится за час'],
  ['ko', '루멘 새 폰 배터리가 너무 빨리 닳아요'],
  ['ar', 'الهاتف الجديد رائع جدا والبطارية ممتازة'],
]

const ENGLISH = [
  'the Lumen X2 keeps crashing after the update',
  'Happy birthday David Beckham love you',
  'Mayweather vs Rousey will never happen in the boxing ring',
  '@lumen_support my order #4411 never came https://t.co/xyz',
  'is the Lumen X2 worth it? asking for a friend',
  'Love my mommy happy mothers day',
  'Lumen X2 vs Nimbus Pro: which has the better camera?',
]

describe('identifyLanguage', () => {
  it('tells ten other languages from their text, the network saying nothing or the wrong thing', () => {
    const wrong = OTHER.filter(([lang, text]) => identifyLanguage(text, 'en').language !== lang)
    expect(wrong).toEqual([])
    for (const [, text] of OTHER) expect(identifyLanguage(text).fromText).toBe(true)
  })

  it('keeps English with names, hashtags, mentions and links in it English, or too short to tell', () => {
    const english = new ReadLanguages('en')
    for (const text of ENGLISH) {
      const identified = identifyLanguage(text, 'de')
      expect(
        [
          { language: 'en', fromText: true },
          { language: 'de', fromText: false },
        ],
        text,
      ).toContainEqual(identified)
      expect(english.scores(identified), text).toBe(true)
    }
    // A few words and a name: too few letters to be read as another language, whatever n-grams say.
    for (const text of [
      'twelve days till oslo',
      'Nimbus Pro vs Lumen X2 vs Corvid',
      'pasta and salsa verde',
      'Napoli pizza time tonight',
    ])
      expect(english.scores(identifyLanguage(text, 'en')), text).toBe(true)
  })

  it('reads a post in another language with an English phrase in it as that language', () => {
    for (const [lang, text] of [
      ['de', 'Like the new Lumen X2 ad? Ich finde die Werbung furchtbar und das Telefon ist viel zu teuer'],
      ['es', 'What the hell, la batería del Lumen se acaba en dos horas y el soporte no contesta'],
    ] as const)
      expect(identifyLanguage(text, 'en'), text).toEqual({ language: lang, fromText: true })
  })

  it('falls back to the network tag where the text is too short to tell, and never leaves those unscored', () => {
    expect(identifyLanguage('lol', 'de-DE')).toEqual({ language: 'de', fromText: false })
    expect(identifyLanguage('ok 🔥🔥 https://t.co/abc', '')).toEqual({ language: '', fromText: false })
    const english = new ReadLanguages('en')
    expect(english.scores(identifyLanguage('Danke!', 'de'))).toBe(true)
  })

  it('leaves unscored what the configured classifier does not read, and scores all with *', () => {
    const english = new ReadLanguages('en')
    expect(OTHER.filter(([, text]) => english.scores(identifyLanguage(text)))).toEqual([])
    expect(ENGLISH.every((text) => english.scores(identifyLanguage(text)))).toBe(true)
    const germanToo = new ReadLanguages('en, DE')
    expect(germanToo.scores(identifyLanguage(OTHER[0]![1]))).toBe(true)
    expect(germanToo.scores(identifyLanguage(OTHER[2]![1]))).toBe(false)
    expect(new ReadLanguages('*').scores(identifyLanguage(OTHER[10]![1]))).toBe(true)
  })
})
